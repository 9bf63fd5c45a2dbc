/**
 * NaN tests on the bits: WGSL lets implementations assume floats are finite, and Tint/SwiftShader
 * fold `x != x` to false, so NaN-propagating kernels test the exponent and mantissa directly.
 */
export const IS_NAN_WGSL = `
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
`;
