// Progress reporting (backend/core/progress.ts) lives with the other operator-facing output tests.
/* eslint-disable no-control-regex -- the TTY output under test contains ESC [K (clear to end of line) */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createProgress, formatDuration } from '../../backend/core/progress.js';

class FakeStream extends Writable {
  chunks: string[] = [];
  constructor(readonly isTTY: boolean, readonly columns = 80) {
    super();
  }
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.chunks.push(chunk.toString());
    cb();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

test('formatDuration', () => {
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(65), '1:05');
  assert.equal(formatDuration(3723), '1:02:03');
  assert.equal(formatDuration(NaN), '--:--');
  assert.equal(formatDuration(Infinity), '--:--');
});

test('TTY: a bar redrawn in place with percentage, rate and ETA; throttled; final line ends it', () => {
  let t = 1_000_000;
  const stream = new FakeStream(true, 100);
  const p = createProgress({ label: 'repair', total: 100 * 2 ** 20, unit: 'bytes', stream, now: () => t });
  t += 1000;
  p.update(10 * 2 ** 20);
  const first = stream.chunks.at(-1)!;
  assert.match(first, /^\rrepair \[#+-+\] {2}10 % 10\.0 MiB\/100\.0 MiB 10\.0 MiB\/s ETA 0:09\x1b\[K$/);
  assert.ok(first.length - 4 <= 99, 'fits the terminal width');
  const before = stream.chunks.length;
  t += 10;
  p.add(2 ** 20);
  assert.equal(stream.chunks.length, before, 'no redraw within 100 ms');
  t += 1000;
  p.update(50 * 2 ** 20);
  assert.match(stream.chunks.at(-1)!, / 50 % /);
  t += 1000;
  p.update(100 * 2 ** 20);
  p.done();
  assert.match(stream.text, /\rrepair: 100\.0 MiB \/ 100\.0 MiB \(100\.0 %\), 33\.2 MiB\/s in 0:03\x1b\[K\n$/);
  const n = stream.chunks.length;
  p.done();
  p.add(5);
  assert.equal(stream.chunks.length, n, 'done() is final');
});

test('TTY without a total: no bar, no percentage', () => {
  let t = 0;
  const stream = new FakeStream(true);
  const p = createProgress({ label: 'scrub', unit: 'items', stream, now: () => t });
  t += 2000;
  p.update(40);
  assert.match(stream.chunks.at(-1)!, /^\rscrub 40 20\/s ETA --:--/);
  assert.doesNotMatch(stream.text, / \[| %/);
  p.done({ failed: true, message: 'peer gone' });
  assert.match(stream.text, /scrub: 40, 20\/s in 0:02 \(stopped early\) — peer gone/);
});

test('not a TTY: periodic plain lines, then a final one; the timer stops', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    let t = 0;
    const stream = new FakeStream(false);
    const p = createProgress({ label: 'verify', total: 1000, unit: 'items', stream, now: () => t, intervalMs: 5000 });
    t = 1000;
    p.update(100);
    assert.equal(stream.text, '', 'no output between intervals');
    t = 5000;
    p.update(500);
    mock.timers.tick(5000);
    assert.equal(stream.text, 'verify: 500 / 1000 (50.0 %), 100/s, ETA 0:05\n');
    t = 10000;
    p.update(1000);
    p.done();
    assert.equal(stream.chunks.length, 2);
    assert.equal(stream.chunks[1], 'verify: 1000 / 1000 (100.0 %), 100/s in 0:10\n');
    mock.timers.tick(20000);
    assert.equal(stream.chunks.length, 2, 'no lines after done');
  } finally {
    mock.timers.reset();
  }
});

test('not a TTY with a logger: structured log lines', () => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  let t = 0;
  const stream = new FakeStream(false);
  const p = createProgress({ label: 'import', total: 4096, unit: 'bytes', stream, logger, now: () => t });
  t = 2000;
  p.update(2048);
  p.done({ failed: true });
  assert.equal(stream.text, '', 'the logger replaces the stream');
  assert.equal(lines.length, 1);
  assert.equal(lines[0].level, 40);
  assert.equal(lines[0].label, 'import');
  assert.equal(lines[0].done, 2048);
  assert.equal(lines[0].total, 4096);
  assert.match(String(lines[0].msg), /^import: 2\.00 KiB \/ 4\.00 KiB \(50\.0 %\), 1\.00 KiB\/s in 0:02 \(stopped early\)$/);
});
