import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const HEADER =
  '# Benchmarks\n\nMeasured results of the benchmark scripts. Each section names its command, ' +
  'and is replaced as a whole when that command runs again.\n';

/**
 * Replaces the text between `<!-- name:start -->` and `<!-- name:end -->` in the markdown file
 * with `content`, or appends a new marked section when the markers are missing. Creates the file
 * when it does not exist. Text outside the markers is kept as it is.
 */
export function replaceSection(file: URL | string, name: string, content: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  const block = `${start}\n${content.trim()}\n${end}`;
  const startIndex = text.indexOf(start);
  const endIndex = text.indexOf(end);
  let updated: string;
  if (startIndex >= 0 && endIndex > startIndex) {
    updated = text.slice(0, startIndex) + block + text.slice(endIndex + end.length);
  } else {
    updated = `${text.trimEnd()}\n\n${block}\n`;
  }
  writeFileSync(file, updated);
}
