"""Writes reference.safetensors with the reference implementation (Python `safetensors` 0.8.0,
numpy 2.4, ml_dtypes 0.6.0). safetensors.test.ts decodes the file and re-encodes it byte for byte.

    python reference-safetensors.py
"""
import ml_dtypes
import numpy as np
from safetensors import TensorSpec, serialize

arrays = {
    "f32": ("float32", (np.arange(6, dtype=np.float32) * 0.5).reshape(2, 3)),
    "f64": ("float64", np.array([np.pi], dtype=np.float64)),
    "f16": ("float16", np.array([1.0, -0.5], dtype=np.float16)),
    "bf16": ("bfloat16", np.array([1, -2, 0.5], dtype=ml_dtypes.bfloat16)),
    "e4m3": ("float8_e4m3fn", np.array([[1, -1], [448, 0.015625]], dtype=ml_dtypes.float8_e4m3fn)),
    "e5m2": ("float8_e5m2", np.array([1, -2, 57344], dtype=ml_dtypes.float8_e5m2)),
    "e8m0": ("float8_e8m0fnu", np.array([1, 0.125, 1024], dtype=ml_dtypes.float8_e8m0fnu)),
    "e4m3fnuz": ("float8_e4m3fnuz", np.array([1, 240], dtype=ml_dtypes.float8_e4m3fnuz)),
    "i64": ("int64", np.array([-1, 2**40], dtype=np.int64)),
    "i32": ("int32", np.array([-7], dtype=np.int32)),
    "u16": ("uint16", np.array([65535, 1], dtype=np.uint16)),
    "u8": ("uint8", np.array([255, 0, 7], dtype=np.uint8)),
    "i8": ("int8", np.array([-128], dtype=np.int8)),
    "bool": ("bool", np.array([True, False], dtype=np.bool_)),
    "empty": ("float32", np.zeros((0, 3), dtype=np.float32)),
}
# serialize() reads the arrays through raw pointers: keep contiguous copies alive until it returns.
contiguous = {name: np.ascontiguousarray(array) for name, (_, array) in arrays.items()}
specs = {
    name: TensorSpec(dtype=dtype, shape=list(contiguous[name].shape), data_ptr=contiguous[name].ctypes.data, data_len=contiguous[name].nbytes)
    for name, (dtype, _) in arrays.items()
}
# One metadata key: the reference keeps metadata in a hash map, so the order of several keys varies between runs.
metadata = {"format": "pt"}
with open("reference.safetensors", "wb") as file:
    file.write(serialize(specs, metadata=metadata))
