export const Opcode = { Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 } as const

/**
 * A client frame (RFC 6455 §5.2) with an all-zero masking key. Clients must mask, and the
 * server unmasks every frame at the same cost whatever the key, but a zero key leaves the
 * payload as it is: a frame is built once and written as often as needed, which keeps the
 * load generator far from being the bottleneck.
 */
export function clientFrame (opcode: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload
  const length = body.length
  let header: Buffer
  if (length < 126) {
    header = Buffer.alloc(6)
    header[1] = 0x80 | length
  } else if (length < 65_536) {
    header = Buffer.alloc(8)
    header[1] = 0x80 | 126
    header.writeUInt16BE(length, 2)
  } else {
    header = Buffer.alloc(14)
    header[1] = 0x80 | 127
    header.writeBigUInt64BE(BigInt(length), 2)
  }
  header[0] = 0x80 | opcode
  return Buffer.concat([header, body])
}

export type FrameHandler = (opcode: number, payload: Buffer) => void

/**
 * Incremental reader of server frames (unmasked). The servers under test never fragment
 * the small messages used here, so each frame is delivered as it is. Payloads are views of
 * the chunk: valid only during the callback.
 */
export class FrameReader {
  #pending: Buffer | undefined

  push (chunk: Buffer, onFrame: FrameHandler): void {
    const buffer = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk])
    this.#pending = undefined
    let offset = 0
    for (;;) {
      const available = buffer.length - offset
      if (available < 2) break
      const second = buffer.readUInt8(offset + 1)
      let length = second & 0x7f
      let head = 2
      if (length === 126) {
        if (available < 4) break
        length = buffer.readUInt16BE(offset + 2)
        head = 4
      } else if (length === 127) {
        if (available < 10) break
        length = Number(buffer.readBigUInt64BE(offset + 2))
        head = 10
      }
      if ((second & 0x80) !== 0) head += 4
      if (available < head + length) break
      onFrame(buffer.readUInt8(offset) & 0x0f, buffer.subarray(offset + head, offset + head + length))
      offset += head + length
    }
    // Copied: `chunk` may be a read buffer that is reused as soon as this returns.
    if (offset < buffer.length) this.#pending = Buffer.from(buffer.subarray(offset))
  }
}
