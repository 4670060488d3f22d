/**
 * The colours of every page (dashboard, portfolio) as CSS variables: light by default, dark when the system asks
 * (prefers-color-scheme). One palette, so both pages say "ok", "warn" and "critical" in the same colours.
 */
export const PALETTE_CSS = `  :root { color-scheme: light dark; --ok:#1a7f37; --warn:#9a6700; --err:#cf222e; --crit:#8b0000; --muted:#57606a; --line:#d0d7de; --bg:#f6f8fa; --run:#0969da; --fg:#1f2328; --page:#fff; --soft:#eaeef2; --plan:#d0d7de; --plot:#fbfcfd; }
  @media (prefers-color-scheme: dark) {
    :root { --ok:#3fb950; --warn:#d29922; --err:#f85149; --crit:#da3633; --muted:#8b949e; --line:#30363d; --bg:#161b22; --run:#2f81f7; --fg:#e6edf3; --page:#0d1117; --soft:#21262d; --plan:#484f58; --plot:#0d1117; }
  }`;
