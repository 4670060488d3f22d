import type { Command } from 'commander';

/** Registers one or more top-level commands (and their sub-commands) on the program. */
export type RegisterCommand = (program: Command) => void;

/**
 * A command the CLI knows without loading it: `--help`, completion and usage errors need only this; the
 * module is required when the command runs (or its own --help is asked for). Start-up cost stays flat
 * however many commands there are.
 */
export interface LazyCommand {
  /** Top-level command names the module registers (e.g. report-ops registers phase, subtask, alert, ...). */
  names: string[];
  /** One line per name, shown in `migration-monitor --help`. */
  descriptions: Record<string, string>;
  /** Shown under "Examples:" in the command's --help; keyed by command path (`phase start` for a sub-command). */
  examples: Record<string, string[]>;
  /**
   * Commands (by path) that print no data, so take no `-o/--format`, each with the reason: every other
   * command takes the one output switch (test/cli/every-command.test.ts walks them all).
   */
  noData?: Record<string, string>;
  /** Requires the module and returns its register function. */
  load: () => RegisterCommand;
}

/**
 * Every sub-command, one file each. To add one: write lib/cli/commands/<name>.ts exporting
 * `register<Name>(program)`, then add a `lazy(...)` entry here (a plain RegisterCommand in the list also
 * works, but it is loaded on every start).
 */
export const COMMANDS: Array<LazyCommand | RegisterCommand> = [
  {
    names: ['serve'],
    descriptions: { serve: 'local mode: tracker API and web dashboard on 127.0.0.1 (npm start)' },
    examples: { serve: ['migration-monitor serve --demo', 'migration-monitor serve --port 9000 --data-dir /var/lib/mm --token "$TOKEN"'] },
    noData: { serve: 'a long-running server: it logs what it does; its data is the tracker API it serves' },
    load: () => (require('./serve') as typeof import('./serve')).registerServe,
  },
  {
    names: ['status', 'monitor'],
    descriptions: { status: 'one-shot status of a migration, with a health verdict', monitor: 'live terminal view with progress bars (Ctrl-C to stop)' },
    examples: {
      status: ['migration-monitor status', 'migration-monitor --url https://tracker.example.com -o json status', 'migration-monitor status --migration orders-db -o markdown >> $GITHUB_STEP_SUMMARY'],
      monitor: ['migration-monitor monitor --interval 10'],
    },
    noData: { monitor: 'a live terminal view redrawn in place; `status -o json|yaml|markdown` gives the same data once' },
    load: () => (require('./status') as typeof import('./status')).registerStatus,
  },
  {
    names: ['migrations'],
    descriptions: { migrations: 'list migrations with status, health, progress and ETA' },
    examples: { migrations: ['migration-monitor migrations', 'migration-monitor migrations -o json | jq -r \'.[] | select(.health != "healthy") | .id\''] },
    load: () => (require('./migrations') as typeof import('./migrations')).registerMigrations,
  },
  {
    names: ['alerts'],
    descriptions: { alerts: 'list alerts (id, severity, phase, age) of a migration; acknowledge one with `ack <id>`' },
    examples: { alerts: ['migration-monitor alerts', 'migration-monitor alerts --all -o yaml', 'migration-monitor ack "$(migration-monitor alerts -o json | jq -r \'.[0].id\')"'] },
    load: () => (require('./alerts') as typeof import('./alerts')).registerAlerts,
  },
  {
    names: ['phase', 'subtask', 'alert', 'metrics', 'init', 'pause', 'resume', 'ack'],
    descriptions: {
      phase: 'report phase progress from a script (start, progress, complete, fail, skip)',
      subtask: 'report sub-task progress from a script',
      alert: 'raise an alert: info, warning, error or critical',
      metrics: 'report metrics (absolute values, or --add-* increments)',
      init: 'create (or with --reset replace) a migration with the default plan or --plan FILE',
      pause: 'pause the whole migration (recorded as a control event)',
      resume: 'resume the whole migration (recorded as a control event)',
      ack: 'acknowledge an alert (ids from `migration-monitor alerts`)',
    },
    examples: {
      phase: ['migration-monitor phase start copy --next-update 300', 'migration-monitor phase progress copy 42 --task "orders 4.2M/10M"', 'migration-monitor phase complete copy'],
      'phase start': ['migration-monitor phase start copy --next-update 300', 'migration-monitor phase start copy --run-id "$HOSTNAME-$$" -o json'],
      'phase progress': ['migration-monitor phase progress copy 42 --task "orders 4.2M/10M"'],
      'phase complete': ['migration-monitor phase complete copy'],
      'phase fail': ['migration-monitor phase fail copy "target rejected writes"'],
      'phase skip': ['migration-monitor phase skip search-index "no search in this release"'],
      subtask: ['migration-monitor subtask progress copy orders 60'],
      'subtask start': ['migration-monitor subtask start copy orders'],
      'subtask progress': ['migration-monitor subtask progress copy orders 60 -o yaml'],
      'subtask complete': ['migration-monitor subtask complete copy orders'],
      'subtask fail': ['migration-monitor subtask fail copy orders "duplicate key on id 42"'],
      'subtask skip': ['migration-monitor subtask skip copy audit-log "archived separately"'],
      alert: ['migration-monitor alert warning "replica lag 30s" --phase copy'],
      metrics: ['migration-monitor metrics --add-data 1048576 --add-ok 100 --speed 2048'],
      init: ['migration-monitor init --plan plan.json --name "Orders cutover"'],
      pause: ['migration-monitor pause --reason "vendor maintenance window"'],
      resume: ['migration-monitor resume'],
      ack: ['migration-monitor ack a-1f2e3d'],
    },
    load: () => (require('./report-ops') as typeof import('./report-ops')).registerReportOps,
  },
  {
    names: ['watch'],
    descriptions: { watch: 'track a migration from its logs: tail log files and turn known events into tracker updates' },
    examples: { watch: ['migration-monitor watch --log /var/log/migrator.log --follow', 'migration-monitor watch --log job.log --config watch.yaml'] },
    load: () => (require('./watch') as typeof import('./watch')).registerWatch,
  },
  {
    names: ['run'],
    descriptions: { run: 'run a migration tool and track it: start the phase, follow its output, complete or fail the phase from its exit code' },
    examples: { run: ['migration-monitor run --phase copy -- pg_restore -d target dump.pgc', 'migration-monitor run --phase sync --profile rsync -- rsync -a --info=progress2 src/ dst/'] },
    load: () => (require('./run') as typeof import('./run')).registerRun,
  },
  {
    names: ['preflight'],
    descriptions: { preflight: 'readiness before a migration: both sides reachable, inventory, disk and memory, predicted time; exit 0 ready, 1 not ready' },
    examples: { preflight: ['migration-monitor preflight --config checks.yaml', 'migration-monitor preflight --config checks.yaml --post --format json'] },
    load: () => (require('./preflight') as typeof import('./preflight')).registerPreflight,
  },
  {
    names: ['cutover', 'rollback'],
    descriptions: {
      cutover: 'move the search proxy forward a stage, gated by the latest validation',
      rollback: 'move the search proxy back (default: dual-write, old store answering): always allowed, immediate',
    },
    examples: {
      cutover: ['migration-monitor cutover --to shadow --reason "validation green"'],
      rollback: ['migration-monitor rollback --reason "p99 latency over budget"'],
    },
    load: () => {
      const m = require('./cutover') as typeof import('./cutover');
      return (program) => (m.registerCutover(program), m.registerRollback(program));
    },
  },
  {
    names: ['export'],
    descriptions: { export: 'render the monitoring spec for other tools (Prometheus rules, Grafana dashboard)' },
    examples: {
      export: ['migration-monitor export prometheus-rules --env prod --out rules.yaml', 'migration-monitor export grafana-dashboard --out dashboard.json'],
      'export prometheus-rules': ['migration-monitor export prometheus-rules --env prod --out rules.yaml', 'migration-monitor export prometheus-rules -o table   # the alerts at a glance'],
      'export grafana-dashboard': ['migration-monitor export grafana-dashboard --out dashboard.json', 'migration-monitor export grafana-dashboard -o markdown   # the panels'],
    },
    load: () => (require('./export') as typeof import('./export')).registerExport,
  },
  {
    names: ['estimate'],
    descriptions: { estimate: 'capacity planner: copy, catch-up, cutover and total duration (or --measured from the tracker)' },
    examples: { estimate: ['migration-monitor estimate --events 5M --rate 2000 --write-rate 50', 'migration-monitor estimate --measured -o json'] },
    load: () => (require('./estimate') as typeof import('./estimate')).registerEstimate,
  },
  {
    names: ['report'],
    descriptions: { report: 'build the migration status report and deliver it (files, S3, GCS, email, Slack)' },
    examples: { report: ['migration-monitor report --output file --path reports/', 'migration-monitor report --dry-run --metrics'] },
    load: () => (require('./report') as typeof import('./report')).registerReport,
  },
  {
    names: ['schedule'],
    descriptions: { schedule: 'print or install a crontab line that runs `report` every day' },
    examples: { schedule: ['migration-monitor schedule --time 07:00 -- --output file --path /srv/reports'] },
    load: () => (require('./schedule') as typeof import('./schedule')).registerSchedule,
  },
  {
    names: ['validate'],
    descriptions: { validate: 'run validation checks (latency, reachability, resources, data consistency); exit 0 pass, 1 differs, 2 bad config, 3 could not check' },
    examples: { validate: ['migration-monitor validate --config checks.yaml --dry-run', 'migration-monitor validate -c checks.yaml --format json --output validation.json'] },
    load: () => (require('./validate') as typeof import('./validate')).registerValidate,
  },
  {
    names: ['completion'],
    descriptions: { completion: 'print a bash or zsh completion script' },
    examples: { completion: ['migration-monitor completion bash > ~/.local/share/bash-completion/completions/migration-monitor', 'migration-monitor completion zsh > "${fpath[1]}/_migration-monitor"', 'source <(migration-monitor completion bash)'] },
    noData: { completion: 'prints a shell script for bash or zsh to source' },
    load: () => (require('./completion') as typeof import('./completion')).registerCompletion,
  },
];
