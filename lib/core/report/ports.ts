/**
 * Ports of the status-report feature. Core builds and renders a report; adapters store it (file directory,
 * S3, GCS) and announce it (SMTP/SES email, Slack). Core never imports an adapter.
 */

/** What a sink answers to a create-once put. */
export interface PutResult {
  /** True when this call created the object; false when an object with that key already existed (nothing written). */
  created: boolean;
  /** Where the object is, for people: a file path, `s3://bucket/key`, `gs://bucket/key`. */
  location: string;
}

/**
 * Object storage for reports, their summaries and delivery markers.
 *
 * `put` is create-once: it must be atomic against concurrent callers (O_EXCL on files, `If-None-Match: *`
 * on S3, `ifGenerationMatch: 0` on GCS), so a retried or doubled run writes each object once and the loser
 * learns it lost (`created: false`). Keys are `/`-separated relative paths, never starting with `/` and
 * never containing `..` segments (use `checkReportKey`).
 */
export interface ReportSink {
  /** Channel name used in delivery results and the `Channel` metric dimension: `file`, `s3`, `gcs`. */
  readonly channel: string;
  put(key: string, body: string, contentType: string): Promise<PutResult>;
  /** The object's text, or null when there is none. */
  get(key: string): Promise<string | null>;
  /**
   * Unconditional write, for the one mutable object (`<migrationId>/latest.json`, the summary the next
   * report compares against). Last writer wins; every writer of the same day writes the same content.
   */
  replace(key: string, body: string, contentType: string): Promise<PutResult>;
}

/** A rendered report, ready for a notifier. */
export interface ReportMessage {
  /** `<migrationId>/<YYYY-MM-DD>` (or an explicit id): the idempotency key. */
  reportId: string;
  migrationId: string;
  subject: string;
  /** Plain-text body (the Markdown rendering reads well as text). */
  text: string;
  /** Mail-client-safe HTML (inline styles, no scripts). */
  html: string;
  /** A few lines for chat (Slack mrkdwn). */
  short: string;
  /** Where the archived report is, when a sink stored it. */
  links: string[];
}

export interface NotifyResult {
  /** Provider message id or similar; never a secret. */
  id?: string;
  /** Who got it (email addresses; for webhooks a description, never the URL). */
  to: string[];
}

/**
 * Sends a report to people (email, Slack). A notifier sends; exactly-once across runs is the delivery
 * ledger's job (deliver.ts claims a marker object in a sink before calling `send`).
 */
export interface ReportNotifier {
  /** `email`, `ses`, `slack`: used in results, markers and the `Channel` metric dimension. */
  readonly channel: string;
  send(message: ReportMessage): Promise<NotifyResult>;
}

/** Counts report outcomes by spec metric name (ReportsProduced / ReportDeliveryFailures), per channel. */
export interface ReportMetrics {
  count(metric: 'ReportsProduced' | 'ReportDeliveryFailures', channel: string, value?: number): void | Promise<void>;
}

/** Tells the tracker that a delivery failed (an `error` alert on the migration). */
export interface ReportAlerter {
  deliveryFailed(migrationId: string, message: string): Promise<void>;
}

const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._\-/]*$/;

/** Reject keys that could escape a directory or bucket prefix. Returns the key. */
export function checkReportKey(key: string): string {
  if (!KEY_RE.test(key) || key.length > 512 || key.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`invalid report key "${key}": use letters, digits, ".", "_", "-" and "/" separators, no empty or ".." segments`);
  }
  return key;
}
