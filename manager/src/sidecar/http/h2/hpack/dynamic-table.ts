/**
 * The HPACK dynamic table (RFC 7541 §2.3.2, §4): a FIFO of (name, value) entries, newest at
 * dynamic position 0 (HPACK index 62). An entry's size is name.length + value.length + 32
 * (§4.1, lengths in octets: strings here are latin1); adding evicts the oldest entries until
 * the new one fits, and an entry larger than the maximum size empties the table and is not
 * added (§4.4). Lowering the maximum size evicts at once (§4.3).
 *
 * Entries live in a power-of-two ring buffer, so adding and evicting are O(1) with no array
 * shifting. Every added entry gets an id (the count of entries added before it), which lets
 * the encoder keep its name/value maps in step through the evicted() hook.
 */

/** §4.1: the size an entry counts for. */
export function entrySize(name: string, value: string): number {
  return name.length + value.length + 32;
}

export class DynamicTable {
  private names: string[] = new Array<string>(16).fill("");
  private values: string[] = new Array<string>(16).fill("");
  private mask = 15;
  /** Ring position the next entry goes to. */
  private tail = 0;
  /** Entries in the table. */
  length = 0;
  /** Sum of the entries' sizes (§4.1). */
  size = 0;
  /** Entries ever added; the newest entry's id is insertCount - 1. */
  insertCount = 0;

  constructor(public maxSize: number) {}

  /** Name of the entry at dynamic position k (0 = newest); the caller checks k < length. */
  name(k: number): string {
    return this.names[(this.tail - 1 - k) & this.mask];
  }

  /** Value of the entry at dynamic position k (0 = newest); the caller checks k < length. */
  value(k: number): string {
    return this.values[(this.tail - 1 - k) & this.mask];
  }

  /** Adds an entry as §4.4 says; returns false when it was too large and the table is now empty. */
  add(name: string, value: string): boolean {
    const size = entrySize(name, value);
    if (size > this.maxSize) {
      while (this.length > 0) this.evictOldest();
      return false;
    }
    while (this.size + size > this.maxSize) this.evictOldest();
    if (this.length > this.mask) this.grow();
    this.names[this.tail] = name;
    this.values[this.tail] = value;
    this.tail = (this.tail + 1) & this.mask;
    this.length++;
    this.size += size;
    this.insertCount++;
    return true;
  }

  /** Sets the maximum size and evicts until the table fits it. */
  setMaxSize(maxSize: number): void {
    this.maxSize = maxSize;
    while (this.size > maxSize) this.evictOldest();
  }

  /** Called for each evicted entry, oldest first. */
  protected evicted(_name: string, _value: string, _id: number): void {}

  private evictOldest(): void {
    const pos = (this.tail - this.length) & this.mask;
    const name = this.names[pos];
    const value = this.values[pos];
    this.names[pos] = "";
    this.values[pos] = "";
    const id = this.insertCount - this.length;
    this.length--;
    this.size -= entrySize(name, value);
    this.evicted(name, value, id);
  }

  private grow(): void {
    const capacity = (this.mask + 1) * 2;
    const names = new Array<string>(capacity).fill("");
    const values = new Array<string>(capacity).fill("");
    for (let i = 0; i < this.length; i++) {
      const pos = (this.tail - this.length + i) & this.mask;
      names[i] = this.names[pos];
      values[i] = this.values[pos];
    }
    this.names = names;
    this.values = values;
    this.mask = capacity - 1;
    this.tail = this.length;
  }
}
