// The zip parser's view of its input: the chunk being parsed plus the few bytes of a record that
// began in an earlier chunk. Record headers are taken whole with need() (copied only when they
// straddle chunks, so the copies stay small); entry data is read straight from the chunk with
// data()/advance(), never copied. Kept apart from the parser so the chunk-boundary arithmetic,
// where off-by-one bugs hide, can be tested on its own with every way of splitting the input.

const EMPTY = Buffer.alloc(0);

export class ByteCursor {
  private chunk: Buffer = EMPTY;
  private pos = 0;
  private consumedBefore = 0;
  private carry: Buffer[] = [];
  private carryLength = 0;
  private lastNeed: Buffer = EMPTY;
  private lastNeedFromChunk = 0;

  /** Starts parsing `chunk`; bytes carried over from earlier chunks come first. */
  begin(chunk: Buffer): void {
    this.chunk = chunk;
    this.pos = 0;
  }

  /** Done with the current chunk (whatever was not consumed must have been carried). */
  finishChunk(): void {
    this.consumedBefore += this.chunk.length;
    this.chunk = EMPTY;
    this.pos = 0;
  }

  /** Whether unparsed bytes remain (in the chunk or carried). */
  hasInput(): boolean {
    return this.pos < this.chunk.length || this.carryLength > 0;
  }

  /** Unparsed bytes available now, carried ones included. */
  available(): number {
    return this.carryLength + this.chunk.length - this.pos;
  }

  /** Offset in the whole stream of the next byte to parse. */
  position(): number {
    return this.consumedBefore + this.pos - this.carryLength;
  }

  /** Bytes of every chunk finished so far: the stream's length once the input ended. */
  totalConsumed(): number {
    return this.consumedBefore;
  }

  /** The next bytes (at most `n`, possibly fewer), without consuming them. */
  peek(n: number): Buffer {
    return Buffer.concat([...this.carry, this.chunk.subarray(this.pos, this.pos + n)]).subarray(0, n);
  }

  /**
   * Returns the next `n` bytes once they are all available (possibly spanning chunks), or null
   * after stashing what there is. Only used for record headers, so the copies are small.
   */
  need(n: number): Buffer | null {
    const chunk = this.chunk;
    if (this.carryLength === 0 && chunk.length - this.pos >= n) {
      const whole = chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      return this.needed(whole, n);
    }
    if (this.carryLength >= n) {
      const carried = this.carry.length === 1 ? this.carry[0]! : Buffer.concat(this.carry);
      const rest = carried.subarray(n);
      this.carry = rest.length > 0 ? [rest] : [];
      this.carryLength = rest.length;
      return this.needed(carried.subarray(0, n), 0);
    }
    const take = Math.min(n - this.carryLength, chunk.length - this.pos);
    const piece = chunk.subarray(this.pos, this.pos + take);
    this.pos += take;
    if (this.carryLength + take < n) {
      if (take > 0) this.carry.push(Buffer.from(piece));
      this.carryLength += take;
      return null;
    }
    const whole = Buffer.concat([...this.carry, piece], n);
    this.carry = [];
    this.carryLength = 0;
    return this.needed(whole, take);
  }

  private needed(whole: Buffer, fromChunk: number): Buffer {
    this.lastNeed = whole;
    this.lastNeedFromChunk = fromChunk;
    return whole;
  }

  /** Gives back the last `k` bytes of the last need() result, to be parsed again. */
  unread(k: number): void {
    if (k <= 0) return;
    if (k <= this.lastNeedFromChunk) {
      this.pos -= k;
      this.lastNeedFromChunk -= k;
      return;
    }
    const whole = this.lastNeed;
    this.pos -= this.lastNeedFromChunk;
    const back = Buffer.from(whole.subarray(whole.length - k, whole.length - this.lastNeedFromChunk));
    this.carry.unshift(back);
    this.carryLength += back.length;
    this.lastNeedFromChunk = 0;
  }

  /**
   * Entry data, straight from the chunk (at most `limit` bytes; not consumed until advance()).
   * Record parsing always leaves the carry empty, so entry data never needs a copy.
   */
  data(limit: number): Buffer {
    if (this.carryLength > 0) throw new Error('internal error: entry data with carried bytes');
    return this.chunk.subarray(this.pos, Math.min(this.chunk.length, this.pos + limit));
  }

  /** Consumes `n` bytes returned by data(). */
  advance(n: number): void {
    this.pos += n;
  }

  /** Hands back bytes that follow what was consumed (they are parsed before the rest of the chunk). */
  pushBack(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.carry = [bytes, ...this.carry];
    this.carryLength += bytes.length;
  }
}
