// The last lines each child wrote, kept by the supervisor so that the recovery page can say why a
// child is down even when no one can reach its journal. Bounded: LINES lines per child, each cut
// to LINE_BYTES, and one partial line at most.

export const LINES = 40;
export const LINE_BYTES = 2048;

export class ChildLogs {
  private readonly lines = new Map<string, string[]>();
  private readonly partial = new Map<string, string>();

  constructor(private readonly keep = LINES) {}

  push(child: string, chunk: Buffer | string): void {
    const text = (this.partial.get(child) ?? '') + chunk.toString();
    const parts = text.split('\n');
    const rest = parts.pop() ?? '';
    this.partial.set(child, rest.length > LINE_BYTES ? rest.slice(0, LINE_BYTES) : rest);
    if (parts.length === 0) return;
    let list = this.lines.get(child);
    if (!list) this.lines.set(child, (list = []));
    for (const line of parts) {
      if (line.trim() === '') continue;
      list.push(line.length > LINE_BYTES ? `${line.slice(0, LINE_BYTES)}…` : line);
    }
    if (list.length > this.keep) list.splice(0, list.length - this.keep);
  }

  /** Oldest first. */
  last(child: string, n = this.keep): string[] {
    const list = this.lines.get(child) ?? [];
    const tail = this.partial.get(child);
    const all = tail ? [...list, tail] : list;
    return all.slice(-n);
  }
}

export interface LogLine {
  readonly time: string | null;
  readonly level: string | null;
  readonly text: string;
}

// The setup code is printed on purpose for the person at the console; a page anyone on the LAN
// can open must not repeat it.
const SETUP_CODE = /(SETUP CODE:\s*)[0-9A-Za-z]{4}(-[0-9A-Za-z]{4}){3}/g;

/** A pino JSON line as time, level and message (with the error's code and message); other text as is. */
export function readableLine(raw: string): LogLine {
  let line: LogLine;
  try {
    const o = JSON.parse(raw) as { time?: unknown; level?: unknown; msg?: unknown; err?: { code?: unknown; message?: unknown }; code?: unknown };
    const err = o.err ? ` — ${[o.err.code ?? o.code, o.err.message].filter((x) => typeof x === 'string').join(': ')}` : '';
    line = { time: typeof o.time === 'string' ? o.time : null, level: typeof o.level === 'string' ? o.level : null, text: `${typeof o.msg === 'string' ? o.msg : ''}${err}` };
  } catch {
    line = { time: null, level: null, text: raw };
  }
  return { ...line, text: line.text.replace(SETUP_CODE, '$1[shown on the device console only]') };
}
