import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** Lines of a file from a byte offset, streamed (handles \r\n and a last line without newline). */
export async function* readLines(path: string, start = 0): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of createReadStream(path, { start, highWaterMark: 1 << 20 })) {
    const text = rest + decoder.write(chunk as Buffer);
    let from = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', from)) {
      yield text.charCodeAt(i - 1) === 13 ? text.slice(from, i - 1) : text.slice(from, i);
      from = i + 1;
    }
    rest = text.slice(from);
  }
  rest += decoder.end();
  if (rest) yield rest;
}
