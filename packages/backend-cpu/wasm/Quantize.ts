// AssemblyScript: FP8 quantization, q = fp8(x · scale), through core's round-to-nearest-even
// table (fp8.encodeTable, copied into the memory): the same codes as core's codec by construction.

/** The table slot of f32 bits u: the top 16 bits, then whether any of the low 16 is set. */
@inline
function slot(u: u32): u32 {
  return ((u >>> 15) & 0x1fffe) | (((u & 0xffff) + 0xffff) >>> 16);
}

/**
 * out[i] = table[slot(bits of x[i] · scale)] for i < n. The product is rounded to f32 as core's
 * codec rounds it; with scale 1 the bits go as they are (NaN payloads untouched), as there.
 */
export function quantize(x: usize, n: i32, scale: f32, table: usize, out: usize): void {
  if (scale === 1) {
    for (let i = 0; i < n; i++) store<u8>(out + <usize>i, load<u8>(table + <usize>slot(load<u32>(x + (<usize>i << 2)))));
    return;
  }
  for (let i = 0; i < n; i++) {
    const product = load<f32>(x + (<usize>i << 2)) * scale;
    store<u8>(out + <usize>i, load<u8>(table + <usize>slot(reinterpret<u32>(product))));
  }
}
