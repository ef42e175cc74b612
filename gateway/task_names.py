"""Names of the background tasks, shared by those who enqueue them and the workers."""

ADVANCE_JOB = "fine_tuning.advance_job"
TRAIN_JOB = "fine_tuning.train_job"
SYNC_UPSTREAM_JOB = "fine_tuning.sync_upstream_job"
POLL_UPSTREAMS = "fine_tuning.poll_upstreams"
MIRROR_UPSTREAM_JOBS = "fine_tuning.mirror_upstream_jobs"
RECONCILE = "fine_tuning.reconcile"
