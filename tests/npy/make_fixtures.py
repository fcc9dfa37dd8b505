#!/usr/bin/env python3
"""make_fixtures.py -- write the tiny .npy fixtures used by tests/scripts/npy_files.sh
and tests/errors (load of a corrupt file).

Run from anywhere: `python3 tests/npy/make_fixtures.py`; the files are written next to
this script and committed, so the tests never need numpy.  Every file is a few dozen
bytes.  Valid files are written with numpy itself; broken ones are built by hand from
a valid header so that exactly one thing is wrong in each.

  valid:   f64_2x3 f32_3 c128_2 c64_2x2 scalar_f64 rank3_f64 v2_f64 empty_f64
  either:  fortran_2x3 (fortran_order True), bigendian_f64 ('>f8'), int64_3 ('<i8')
           -- txc may load these (with the right values) or refuse them cleanly
  broken:  truncated bad_magic bad_header bad_shape header_overrun extra_data
           object_dtype empty_file negative_shape huge_shape bad_version
"""
import io
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    with open(os.path.join(HERE, name + ".npy"), "wb") as f:
        f.write(data)


def npy_bytes(arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr, allow_pickle=False)
    else:
        np.lib.format.write_array(buf, arr, version=version, allow_pickle=False)
    return buf.getvalue()


def raw_npy(header_dict_text, payload, magic=b"\x93NUMPY", version=b"\x01\x00"):
    """A format-1.0 file with the given header text (padded like numpy does)."""
    h = header_dict_text.encode("latin1")
    total = len(magic) + 2 + 2 + len(h) + 1
    pad = (64 - total % 64) % 64
    h = h + b" " * pad + b"\n"
    return magic + version + struct.pack("<H", len(h)) + h + payload


def main():
    # ---- valid -------------------------------------------------------------
    write("f64_2x3", npy_bytes(np.arange(6, dtype="<f8").reshape(2, 3) * 0.5))
    write("f32_3", npy_bytes(np.array([1.5, -2.25, 3.0], dtype="<f4")))
    write("c128_2", npy_bytes(np.array([1 + 2j, -3.5j], dtype="<c16")))
    write("c64_2x2", npy_bytes(np.array([[1 + 1j, 2], [3, -4j]], dtype="<c8")))
    write("scalar_f64", npy_bytes(np.array(2.5, dtype="<f8")))
    write("rank3_f64", npy_bytes(np.arange(6, dtype="<f8").reshape(2, 1, 3) - 1))
    write("v2_f64", npy_bytes(np.array([1.0, 2.0, 3.0]), version=(2, 0)))
    write("empty_f64", npy_bytes(np.zeros(0, dtype="<f8")))

    # ---- loadable by numpy, maybe refused by txc -------------------------------
    write("fortran_2x3", npy_bytes(np.asfortranarray(np.arange(6, dtype="<f8").reshape(2, 3))))
    write("bigendian_f64", npy_bytes(np.array([1.0, -2.0, 0.25], dtype=">f8")))
    write("int64_3", npy_bytes(np.array([7, -1, 3], dtype="<i8")))

    # ---- broken ------------------------------------------------------------
    good = npy_bytes(np.arange(6, dtype="<f8").reshape(2, 3))
    write("truncated", good[:-12])                       # data cut short
    write("bad_magic", b"\x93NUMPZ" + good[6:])          # wrong magic string
    write("bad_header", raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), ",
                                struct.pack("<6d", *range(6))))           # dict never closed
    write("bad_shape", raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }",
                               struct.pack("<6d", *range(6))))
    # header length field claims more bytes than the file has
    hdr = bytearray(good[:128])
    struct.pack_into("<H", hdr, 8, 4000)
    write("header_overrun", bytes(hdr))
    write("extra_data", good + struct.pack("<d", 99.0))   # more data than the shape says
    write("object_dtype", raw_npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
                                  b"\x00" * 16))
    write("empty_file", b"")
    write("negative_shape", raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-2, 3), }",
                                    struct.pack("<6d", *range(6))))
    # a huge shape with a tiny payload: must be refused without allocating it
    write("huge_shape", raw_npy("{'descr': '<f8', 'fortran_order': False, "
                                "'shape': (1000000000000, 1000000000), }", b"\x00" * 16))
    write("bad_version", good[:6] + b"\x07\x00" + good[8:])


if __name__ == "__main__":
    main()
