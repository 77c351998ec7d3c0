/** ReportRow is one line of the bench's table; unset cells print as "-". */
export interface ReportRow {
  section: string;
  measurement: string;
  /** "1" (server pinned to one core, load on the other) or "all". */
  cores: string;
  concurrency?: number | string;
  /** Successful operations per second. */
  throughput?: number;
  p50Ms?: number;
  p99Ms?: number;
  maxMs?: number;
  note?: string;
}

/** TargetStatus says whether the bench met a target. */
export type TargetStatus = "met" | "missed" | "not measured";

/** TargetResult is a target, what the bench measured for it, and the verdict. */
export interface TargetResult {
  target: string;
  measured: string;
  status: TargetStatus;
}

/** BenchReport collects rows and verdicts, and renders them as text and JSON. */
export class BenchReport {
  readonly rows: ReportRow[] = [];
  readonly targets: TargetResult[] = [];
  readonly notes: string[] = [];

  /** add appends a row and echoes it, so a long run shows progress. */
  add(row: ReportRow): void {
    this.rows.push(row);
    process.stderr.write(`  ${renderRow(row).join("  ")}\n`);
  }

  /** check records a target: `met` decides the verdict, undefined meaning not measured. */
  check(target: string, measured: string, met: boolean | undefined): void {
    const status: TargetStatus = met === undefined ? "not measured" : met ? "met" : "missed";
    this.targets.push({ target, measured, status });
  }

  /** table renders the rows and the targets as Markdown tables. */
  table(): string {
    const rows = markdownTable(HEADERS, this.rows.map(renderRow));
    const targets = markdownTable(
      ["Target", "Measured", "Status"],
      this.targets.map((t) => [t.target, t.measured, t.status]),
    );
    const notes = this.notes.map((n) => `- ${n}`).join("\n");
    return `${rows}\n\n${targets}\n${notes === "" ? "" : `\n${notes}\n`}`;
  }
}

const HEADERS = [
  "Section",
  "Measurement",
  "Cores",
  "Conc.",
  "Throughput/s",
  "p50 ms",
  "p99 ms",
  "max ms",
  "Note",
];

function renderRow(row: ReportRow): string[] {
  return [
    row.section,
    row.measurement,
    row.cores,
    row.concurrency === undefined ? "-" : String(row.concurrency),
    row.throughput === undefined ? "-" : row.throughput.toFixed(0),
    formatMs(row.p50Ms),
    formatMs(row.p99Ms),
    formatMs(row.maxMs),
    row.note ?? "",
  ];
}

/** formatMs prints a latency with precision that suits its size. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return "-";
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

function markdownTable(headers: readonly string[], rows: readonly string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  const rule = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  return [line(headers), rule, ...rows.map(line)].join("\n");
}
