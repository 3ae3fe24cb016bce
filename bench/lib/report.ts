/** What each figure hands back, and the printed table. */

export type Verdict = 'PASS' | 'MISS' | 'info' | 'ERROR' | 'SKIP';

export interface Row {
  figure: string;
  /** What byodkim did, human-readable. */
  measured: string;
  /** The baseline measured in the same run (or the bound it is compared with). */
  baseline: string;
  /** measured / baseline in the direction the target states; undefined when not a ratio. */
  ratio?: number;
  target: string;
  verdict: Verdict;
}

export interface FigureResult {
  id: string;
  title: string;
  rows: Row[];
  /** Raw numbers for latest.json. */
  details: Record<string, unknown>;
  /** Short notes printed under the table. */
  notes: string[];
  seconds: number;
}

export function verdict(ok: boolean): Verdict {
  return ok ? 'PASS' : 'MISS';
}

export function fmt(value: number | undefined, digits = 2): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return value.toFixed(digits);
}

export function renderTable(rows: readonly Row[]): string {
  const header = ['figure', 'byodkim', 'baseline (same run)', 'ratio', 'target', 'result'];
  const body = rows.map((r) => [
    r.figure,
    r.measured,
    r.baseline,
    r.ratio === undefined ? '—' : fmt(r.ratio),
    r.target,
    r.verdict,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((line) => (line[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
