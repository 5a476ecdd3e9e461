#!/usr/bin/env python3
"""Checks attograd's safetensors files with an independent implementation.

Parses the files safetensors_tool writes using only the standard library and
numpy (not the safetensors package): the 8-byte little-endian header length,
the JSON header (refusing duplicate keys), 8-byte alignment of the data, the
data offsets tiling the data section, and every name, dtype, shape, value and
metadata entry. Then writes a file of its own (unpadded header, data in
another order than the keys) and checks that attograd reads it bit for bit.

    read_safetensors.py SAFETENSORS_TOOL

Exits 77 (skipped, for meson) if numpy is not installed.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("numpy is not installed (scripts/setup.sh installs python3-numpy): skipped")
    sys.exit(77)

DTYPES = {"F32": "<f4", "F64": "<f8", "I32": "<i4"}


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys in {keys}"
    return dict(pairs)


def read(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    assert 8 + n <= len(data), "header longer than the file"
    assert (8 + n) % 8 == 0, "data section not 8-byte aligned"
    header = json.loads(data[8:8 + n].decode("utf-8"), object_pairs_hook=no_duplicates)
    metadata = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors, spans = {}, []
    for name, entry in header.items():
        assert set(entry) == {"dtype", "shape", "data_offsets"}, entry
        begin, end = entry["data_offsets"]
        array = np.frombuffer(body[begin:end], dtype=DTYPES[entry["dtype"]])
        assert array.size == int(np.prod(entry["shape"])), (name, entry)
        tensors[name] = array.reshape(entry["shape"])
        spans.append((begin, end))
    position = 0
    for begin, end in sorted(spans):
        assert begin == position, f"gap or overlap at {begin}"
        position = end
    assert position == len(body), "trailing bytes"
    return tensors, metadata


def check_checkpoint(path):
    tensors, metadata = read(path)
    params = ["encoder.layers.0.self_attn.q_proj.weight", "encoder.layers.0.self_attn.q_proj.bias",
              "generator.proj.weight"]
    shapes = [(4, 3), (4,), (2, 2)]
    expected_names = set(params)
    for j, (name, shape) in enumerate(zip(params, shapes)):
        dtype = np.float64 if j == 2 else np.float32
        k = np.arange(int(np.prod(shape)), dtype=np.float64)
        value = ((k - 3) / 8 + j).astype(dtype).reshape(shape)
        state = {"exp_avg": value / 2, "exp_avg_sq": (k / 16).astype(dtype).reshape(shape)}
        assert tensors[name].dtype == dtype and tensors[name].shape == shape, name
        assert np.array_equal(tensors[name], value), name
        for slot, expected in state.items():
            key = f"optimizer.{name}.{slot}"
            expected_names.add(key)
            assert tensors[key].dtype == dtype and np.array_equal(tensors[key], expected), key
    assert set(tensors) == expected_names, sorted(set(tensors) ^ expected_names)
    assert metadata == {
        "attograd_format_version": "1", "step": "7", "seed": "42", "optimizer": "adam",
        "optimizer.beta1": "0.9", "optimizer.beta2": "0.98", "optimizer.eps": "1e-09",
        "schedule": "noam", "schedule.warmup": "4000", "note": "written by attograd",
    }, metadata


def check_tensors(path):
    tensors, metadata = read(path)
    assert metadata == {}, metadata
    ids = np.array([[0, 1, -1], [2147483647, -2147483648, 5]], dtype=np.int32)
    assert tensors["ids"].dtype == np.int32 and np.array_equal(tensors["ids"], ids)
    assert tensors["scalar"].dtype == np.float64 and tensors["scalar"].shape == () and tensors["scalar"] == 0.1
    assert tensors["empty"].dtype == np.float32 and tensors["empty"].shape == (0, 4)


def write(path, tensors, metadata):
    """A writer of our own: no padding, data in reverse key order."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, array in reversed(list(tensors.items())):
        raw = array.tobytes()
        dtype = {v: k for k, v in DTYPES.items()}[array.dtype.str]
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def check_attograd_reads(tool, path):
    rng = np.random.default_rng(7)
    tensors = {
        "a.weight": rng.standard_normal((3, 5)).astype("<f4"),
        "b": rng.standard_normal(4).astype("<f8"),
        "ids": np.array([3, -9, 2**31 - 1], dtype="<i4"),
        "one": np.array(2.5, dtype="<f4"),
    }
    write(path, tensors, {"origin": "numpy"})
    out = subprocess.run([tool, "dump", path], check=True, capture_output=True, text=True).stdout.splitlines()
    assert "meta origin numpy" in out, out
    names = {"<f4": "f32", "<f8": "f64", "<i4": "i32"}
    for name, array in tensors.items():
        line = " ".join(["tensor", name, names[array.dtype.str]] + [str(d) for d in array.shape] + [":", array.tobytes().hex()])
        assert line in out, (line, out)


def main():
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([tool, "write-sample", tmp], check=True)
        check_checkpoint(os.path.join(tmp, "checkpoint.safetensors"))
        check_tensors(os.path.join(tmp, "tensors.safetensors"))
        check_attograd_reads(tool, os.path.join(tmp, "numpy.safetensors"))
    print("attograd's safetensors files agree with an independent reader and writer")


if __name__ == "__main__":
    main()
