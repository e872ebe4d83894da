/** Formats the evaluation as one compact text table, a markdown table and JSON. */
import type { KindScore } from './scoring';

/** One row of the table: a kind (or a mean) with each method's figures. */
export interface ResultRow {
  kind: string;
  set: 'synthetic' | 'real';
  /** The recall goal for the model at its shipped thresholds; null for summary rows. */
  goal: number | null;
  scores: Record<string, KindScore | undefined>;
}

interface Column {
  label: string;
  pick: (score: KindScore) => number;
  digits: number;
}

const COLUMNS: Column[] = [
  { label: 'AUC', pick: (s) => s.auc, digits: 3 },
  { label: 'P', pick: (s) => s.precision, digits: 2 },
  { label: 'R', pick: (s) => s.recall, digits: 2 },
  { label: 'R@1', pick: (s) => s.recallAt1, digits: 2 },
  { label: 'R@4', pick: (s) => s.recallAt4, digits: 2 },
  { label: 'R.99', pick: (s) => s.recallAtFair, digits: 2 },
];

/** Legend printed under the tables. */
export const LEGEND =
  'AUC: pairwise ROC AUC. P, R: pair precision and recall at the shipped threshold (model: ' +
  'nearDuplicate on synthetic kinds, similar on real groups; pHash/dHash: Hamming <= 10; blocks: ' +
  'dupeGuru similarity >= 95). R@1, R@4: retrieval recall. R.99: recall at pair precision >= 0.99, ' +
  'threshold chosen per method and kind. "-": undefined (no pair passed the test).';

/** A figure as at most 4-5 characters: ".98", "1", "-" for undefined. */
export function formatFigure(value: number, digits: number): string {
  if (!Number.isFinite(value)) return '-';
  if (value === 1) return '1';
  return value.toFixed(digits).replace(/^0\./, '.');
}

/** The text table for stdout: method names over their metric columns, groups split by "|". */
export function formatTextTable(rows: ResultRow[], methods: string[]): string {
  const header = ['kind', 'goal', ...methods.flatMap(() => COLUMNS.map((c) => c.label))];
  const body = rows.map((row) => cellsOf(row, methods));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i].length)));
  const groups = (cells: string[]): string[] => [
    `${cells[0].padEnd(widths[0])} ${cells[1].padStart(widths[1])}`,
    ...methods.map((_, m) =>
      COLUMNS.map((_c, c) => {
        const i = 2 + m * COLUMNS.length + c;
        return cells[i].padStart(widths[i]);
      }).join(' '),
    ),
  ];
  const headerGroups = groups(header);
  const titles = headerGroups.map((group, g) =>
    g === 0 ? ' '.repeat(group.length) : centre(methods[g - 1], group.length),
  );
  const lines = [titles.join(' | '), headerGroups.join(' | ')];
  rows.forEach((row, r) => {
    if (r > 0 && row.set !== rows[r - 1].set) lines.push('');
    lines.push(groups(body[r]).join(' | '));
  });
  return lines.join('\n');
}

function centre(text: string, width: number): string {
  const label = ` ${text} `;
  const left = Math.max(0, Math.floor((width - label.length) / 2));
  return ('-'.repeat(left) + label).padEnd(width, '-').slice(0, Math.max(width, label.length));
}

/** The same table in markdown, one column per method and metric. */
export function formatMarkdownTable(rows: ResultRow[], methods: string[]): string {
  const header = ['kind', 'goal', ...methods.flatMap((m) => COLUMNS.map((c) => `${m} ${c.label}`))];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((row) => `| ${cellsOf(row, methods).join(' | ')} |`),
  ];
  return lines.join('\n');
}

function cellsOf(row: ResultRow, methods: string[]): string[] {
  const cells = [row.kind, row.goal === null ? '' : formatFigure(row.goal, 2)];
  for (const method of methods) {
    const score = row.scores[method];
    for (const column of COLUMNS)
      cells.push(score ? formatFigure(column.pick(score), column.digits) : 'n/a');
  }
  return cells;
}
