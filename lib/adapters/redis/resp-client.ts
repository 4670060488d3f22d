import net from 'node:net';
import tls from 'node:tls';
import { redisTlsOptions } from './tls';

/** A RESP2 reply: bulk strings stay bytes (values may be binary), `null` for a nil reply. */
export type RespReply = Buffer | number | null | RespReply[] | RespError;

/** An error reply (`-ERR ...`): the answer to one command, not a broken connection. */
export class RespError extends Error {}

export interface RespClientOptions {
  /** Milliseconds to establish the connection (TCP, TLS and AUTH/SELECT). Default 10 s. */
  connectTimeoutMs?: number;
  /** Times a command is sent again on a new connection after the connection was lost. Default 2. */
  retries?: number;
  /** PEM of the CA(s) that signed the server's certificate (`rediss://`): trusted instead of the system's (Memorystore's `server_ca_certs`). */
  ca?: string;
}

type Pending = { resolve(r: RespReply): void; reject(e: Error): void };

/**
 * The few Redis commands the validation connector reads with (SCAN, MGET, pipelined HGETALL) over one
 * connection, in ~150 lines instead of ioredis (~170 KB of a Lambda bundle). `redis://` and `rediss://`
 * (TLS) URLs with optional `user:password@` and `/db`. Only for idempotent reads: a command whose connection
 * is lost is sent again on a new connection (`retries` times, 100 ms × attempt apart).
 */
export class RespClient {
  private socket?: net.Socket;
  private connecting?: Promise<net.Socket>;
  private readonly queue: Pending[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly opts: RespClientOptions = {},
  ) {
    const u = new URL(url);
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error('must be a redis:// or rediss:// URL');
    if (opts.ca && u.protocol !== 'rediss:') throw new Error('a CA certificate was given: use a rediss:// URL (TLS)');
  }

  /** Open the connection now (otherwise the first command does). */
  async connect(): Promise<void> {
    await this.open();
  }

  /** One command; an error reply rejects with it. */
  async command(...args: Array<string | number | Buffer>): Promise<RespReply> {
    const [reply] = await this.pipeline([args]);
    if (reply instanceof RespError) throw reply;
    return reply!;
  }

  /** Send the commands in one write and collect their replies in order (an error reply is a RespError among them). */
  async pipeline(commands: Array<Array<string | number | Buffer>>): Promise<RespReply[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        const socket = await this.open();
        const replies = commands.map(() => new Promise<RespReply>((resolve, reject) => this.queue.push({ resolve, reject })));
        socket.write(Buffer.concat(commands.map(encode)));
        const settled = await Promise.allSettled(replies);
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason;
        return settled.map((s) => (s as PromiseFulfilledResult<RespReply>).value);
      } catch (e) {
        if (this.closed || attempt >= (this.opts.retries ?? 2)) throw e;
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end(encode(['QUIT']));
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  private open(): Promise<net.Socket> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    if (this.socket) return Promise.resolve(this.socket);
    this.connecting ??= this.dial().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async dial(): Promise<net.Socket> {
    const u = new URL(this.url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = Number(u.port || 6379);
    const socket = u.protocol === 'rediss:' ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...(this.opts.ca ? redisTlsOptions(this.opts.ca) : {}) }) : net.connect({ host, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(new Error(`connect timeout after ${this.opts.connectTimeoutMs ?? 10_000} ms`)), this.opts.connectTimeoutMs ?? 10_000);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once(u.protocol === 'rediss:' ? 'secureConnect' : 'connect', resolve);
        socket.once('error', reject);
      });
      socket.on('data', (chunk: Buffer) => {
        try {
          this.onData(chunk);
        } catch (e) {
          this.fail(socket, e as Error);
        }
      });
      socket.on('error', (e) => this.fail(socket, e));
      socket.on('close', () => this.fail(socket, new Error('connection closed by the server')));
      this.buffer = Buffer.alloc(0);
      this.socket = socket;
      const setup: Array<Array<string>> = [];
      const password = decodeURIComponent(u.password);
      if (password) setup.push(u.username ? ['AUTH', decodeURIComponent(u.username), password] : ['AUTH', password]);
      const db = u.pathname.replace(/^\//, '');
      if (db && db !== '0') setup.push(['SELECT', db]);
      if (setup.length) {
        const replies = setup.map(() => new Promise<RespReply>((resolve, reject) => this.queue.push({ resolve, reject })));
        socket.write(Buffer.concat(setup.map(encode)));
        for (const r of await Promise.all(replies)) if (r instanceof RespError) throw r;
      }
      return socket;
    } catch (e) {
      this.fail(socket, e as Error);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The connection is gone: every command waiting on it fails; the next one connects again. */
  private fail(socket: net.Socket, e: Error): void {
    if (this.socket === socket) this.socket = undefined;
    socket.destroy();
    for (const p of this.queue.splice(0)) p.reject(e);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const parsed = parse(this.buffer, 0);
      if (!parsed) return;
      this.buffer = this.buffer.subarray(parsed.end);
      const p = this.queue.shift();
      p?.resolve(parsed.value);
    }
  }
}

function encode(args: Array<string | number | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** One reply from `buf` at `at`, or undefined while it has not fully arrived. Errors nested in arrays stay values. */
function parse(buf: Buffer, at: number): { value: RespReply; end: number } | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const line = buf.toString('utf8', at + 1, eol);
  switch (buf[at]) {
    case 0x2b: // + simple string
      return { value: Buffer.from(line), end: eol + 2 };
    case 0x2d: // - error
      return { value: new RespError(line), end: eol + 2 };
    case 0x3a: // : integer
      return { value: Number(line), end: eol + 2 };
    case 0x24: {
      // $ bulk string
      const n = Number(line);
      if (n < 0) return { value: null, end: eol + 2 };
      if (buf.length < eol + 2 + n + 2) return undefined;
      return { value: Buffer.from(buf.subarray(eol + 2, eol + 2 + n)), end: eol + 2 + n + 2 };
    }
    case 0x2a: {
      // * array
      const n = Number(line);
      if (n < 0) return { value: null, end: eol + 2 };
      const items: RespReply[] = [];
      let end = eol + 2;
      for (let i = 0; i < n; i++) {
        const item = parse(buf, end);
        if (!item) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`unexpected reply from the Redis server (byte ${buf[at]})`);
  }
}
