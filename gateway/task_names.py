"""Names of the background tasks, shared by those who enqueue them and the workers."""

ADVANCE_JOB = "fine_tuning.advance_job"
TRAIN_JOB = "fine_tuning.train_job"
RECONCILE = "fine_tuning.reconcile"
