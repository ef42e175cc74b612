// How numbers, times and money read on every page.
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const integerFormat = new Intl.NumberFormat();

export const TERMINAL_STATUSES = new Set(["succeeded", "failed", "cancelled"]);

export function dateTime(unixSeconds) {
  return unixSeconds ? dateTimeFormat.format(unixSeconds * 1000) : "—";
}

export function time(unixSeconds) {
  return timeFormat.format(unixSeconds * 1000);
}

export function integer(value) {
  return value === null || value === undefined ? "—" : integerFormat.format(value);
}

export function decimal(value, digits = 4) {
  return value === null || value === undefined ? "—" : Number(value).toFixed(digits);
}

export function usd(value) {
  if (value === null || value === undefined) return "—";
  return value > 0 && value < 0.01 ? `$${value.toPrecision(2)}` : `$${value.toFixed(2)}`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || seconds < 0) return "—";
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${Math.round(seconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** How long a job ran: to its end, or until now while it is still going. */
export function jobDuration(job) {
  const end = job.finished_at ?? (TERMINAL_STATUSES.has(job.status) ? null : Date.now() / 1000);
  return end === null ? null : end - job.created_at;
}

export function bytes(value) {
  if (value < 1024) return `${value} B`;
  const units = ["KB", "MB", "GB"];
  let size = value / 1024;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${size.toFixed(size < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A fraction as a percentage with at most one decimal: 0.75 → "75%", 2/3 → "66.7%". */
export function percent(fraction) {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return "—";
  const rounded = Math.round(fraction * 1000) / 10;
  return `${Number.isInteger(rounded) ? rounded : rounded.toFixed(1)}%`;
}

/** The change from one fraction to another, in percentage points: "+12.5 points". */
export function pointsChange(before, after) {
  if (before === null || after === null) return "—";
  const change = Math.round((after - before) * 1000) / 10;
  const sign = change > 0 ? "+" : change < 0 ? "−" : "±";
  return `${sign}${Number.isInteger(change) ? Math.abs(change) : Math.abs(change).toFixed(1)} points`;
}

/** A grader's score: up to three decimals, no trailing zeros. */
export function score(value) {
  return value === null || value === undefined ? "—" : String(Number(Number(value).toFixed(3)));
}

export function statusLabel(status) {
  return status.replaceAll("_", " ");
}
