const LF = 0x0a;
const CR = 0x0d;

function chomp(line: Buffer): Buffer {
  // Lines from Windows tools end in \r\n; Kafka's console producer (BufferedReader.readLine) drops both.
  return line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
}

/**
 * The lines of a byte stream, as Buffers (records are bytes: no UTF-8 round trip). Pulls a chunk only
 * when the consumer of the lines asks for more, so a slow consumer pauses the stream instead of
 * buffering all of it. A last line without a newline is still a line; a trailing newline does not
 * make an empty last line.
 */
export async function* readLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer, void, undefined> {
  // Pieces of a line that spans chunks; joined once, when its newline arrives.
  let pending: Buffer[] = [];
  for await (const raw of input) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let start = 0;
    for (let nl = chunk.indexOf(LF); nl !== -1; nl = chunk.indexOf(LF, start)) {
      let line = chunk.subarray(start, nl);
      if (pending.length > 0) {
        line = Buffer.concat([...pending, line]);
        pending = [];
      }
      start = nl + 1;
      yield chomp(line);
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length > 0) yield chomp(Buffer.concat(pending));
}
