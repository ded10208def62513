#!/usr/bin/env python3
"""Generates the hostile-input corpus under tests/hostile/cases/ and its manifest cases.json.

Each case is a small malformed file (or a valid file used the wrong way) plus the `qcc` command
line that must reject it with exit code 1, an error naming the problem (`expect`, a substring of
stderr) and no panic. The test tools/qcc/tests/hostile.rs runs them all; it only reads the
committed files, so it does not need this script's dependencies (`pip install onnx numpy`).

In `args`, `$C` is the cases folder and `$O` a fresh temporary folder for outputs.

Run: python3 tests/hostile/make_corpus.py   (rewrites cases/ and cases.json deterministically)
"""
import io
import json
import os
import shutil
import struct
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")
CASES = []


def case(name, args, expect):
    CASES.append({"name": name, "args": args, "expect": expect})


def write(name, data):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def model_bytes(nodes, inputs, outputs, inits=(), opset=17, value_info=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits), value_info=list(value_info))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="hostile")
    m.ir_version = 8
    return m.SerializeToString()


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def onnx_case(name, data, expect, cmd="import"):
    write(name + ".onnx", data)
    if cmd == "import":
        case(name, ["import", "$C/" + name + ".onnx", "-o", "$O/out.qir"], expect)
    else:
        case(name, cmd(name), expect)


X = vi("x", [1, 4])
Y = vi("y", [1, 4])
RELU = helper.make_node("Relu", ["x"], ["y"], name="relu")
GOOD = model_bytes([RELU], [X], [Y])


def raw_init(name, dtype, dims, raw):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def add_model(init):
    """y = x + init (init of any shape): the initializer is what is hostile."""
    return model_bytes([helper.make_node("Add", ["x", init.name], ["y"], name="add")], [X], [Y], [init])


def ext_init(name, location, offset=None, length=None, dims=(4,)):
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key = k
            e.value = str(v)
    return t


def gen_onnx():
    # --- protobuf level
    onnx_case("onnx_truncated", GOOD[: len(GOOD) // 2], "malformed ONNX protobuf")
    onnx_case("onnx_garbage", bytes((i * 97 + 13) % 256 for i in range(300)), "malformed ONNX protobuf")
    onnx_case("onnx_empty_file", b"", "the model has no graph")
    onnx_case("onnx_no_graph", helper.make_model(helper.make_graph([], "g", [], [])).SerializeToString()[:0] +
              onnx.ModelProto(ir_version=8).SerializeToString(), "the model has no graph")
    # a length prefix claiming far more bytes than the file has
    onnx_case("onnx_bad_length_prefix", b"\x3a\xff\xff\xff\xff\x0f" + GOOD[:20], "malformed ONNX protobuf")
    # --- tensors
    onnx_case("onnx_raw_size_wrong", add_model(raw_init("w", TensorProto.FLOAT, [1, 4], b"\0" * 11)),
              "raw data has 11 bytes")
    t = onnx.TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1, 4], float_data=[1.0])
    onnx_case("onnx_float_data_count", add_model(t), "1 elements for shape")
    onnx_case("onnx_negative_dim_init", add_model(raw_init("w", TensorProto.FLOAT, [-1, 4], b"")),
              "negative dimension")
    onnx_case("onnx_huge_dims_overflow",
              add_model(raw_init("w", TensorProto.FLOAT, [1 << 40, 1 << 40], b"\0" * 4)), "overflow")
    onnx_case("onnx_huge_dims_no_data",
              add_model(raw_init("w", TensorProto.FLOAT, [1 << 20, 1 << 20], b"\0" * 4)),
              "tensor size limit")
    onnx_case("onnx_double_init", add_model(raw_init("w", TensorProto.DOUBLE, [1], b"\0" * 8)),
              "element type DOUBLE is not supported")
    onnx_case("onnx_bad_dtype_number", add_model(raw_init("w", 999, [1], b"\0" * 4)), "element type")
    onnx_case("onnx_segmented", add_model(onnx.TensorProto(name="w", data_type=1, dims=[1], float_data=[1.0],
                                                         segment=onnx.TensorProto.Segment(begin=0, end=1))),
              "segmented")
    # --- value infos
    onnx_case("onnx_negative_input_dim", model_bytes([RELU], [vi("x", [1, -5])], [Y]), "negative dimension")
    onnx_case("onnx_huge_input_dims", model_bytes([RELU], [vi("x", [1 << 40, 1 << 40, 1 << 40])], [Y]),
              "overflow")
    onnx_case("onnx_input_no_type", model_bytes([RELU], [onnx.ValueInfoProto(name="x")], [Y]),
              "graph input without a type")
    # --- graph structure
    cyc = [helper.make_node("Relu", ["b"], ["a"], name="n1"), helper.make_node("Relu", ["a"], ["b"], name="n2"),
           helper.make_node("Add", ["x", "b"], ["y"], name="n3")]
    onnx_case("onnx_cycle", model_bytes(cyc, [X], [Y]), "which no node, graph input or initializer defines")
    onnx_case("onnx_self_loop", model_bytes([helper.make_node("Add", ["x", "y"], ["y"], name="selfloop")], [X], [Y]),
              "which no node, graph input or initializer defines")
    dup = [helper.make_node("Relu", ["x"], ["y"], name="a"), helper.make_node("Sigmoid", ["x"], ["y"], name="b")]
    onnx_case("onnx_duplicate_node_output", model_bytes(dup, [X], [Y]), "`y` is defined twice")
    onnx_case("onnx_duplicate_initializer",
              add_model(raw_init("w", 1, [4], b"\0" * 16))[:0] +
              model_bytes([helper.make_node("Add", ["x", "w"], ["y"])], [X], [Y],
                          [raw_init("w", 1, [4], b"\0" * 16), raw_init("w", 1, [4], b"\1" * 16)]),
              "`w` is defined twice")
    onnx_case("onnx_duplicate_input", model_bytes([RELU], [X, X], [Y]), "`x` is defined twice")
    onnx_case("onnx_duplicate_output", model_bytes([RELU], [X], [Y, Y]), "`y` is defined twice")
    onnx_case("onnx_undefined_output", model_bytes([RELU], [X], [vi("z", [1, 4])]), "graph output `z`")
    onnx_case("onnx_unsupported_op",
              model_bytes([helper.make_node("NonMaxSuppression", ["x"], ["y"], name="nms")], [X], [Y]),
              "unsupported op type")
    onnx_case("onnx_missing_input", model_bytes([helper.make_node("Add", ["x"], ["y"], name="add1")], [X], [Y]),
              "add1")
    onnx_case("onnx_opset_0", model_bytes([RELU], [X], [Y], opset=0), "unsupported op type")
    # --- external data
    base = ext_init("w", "weights.bin")
    write("ext/weights.bin", struct.pack("<4f", 1, 2, 3, 4))
    for nm, t, exp in [
        ("onnx_ext_absolute", ext_init("w", "/etc/passwd"), "is absolute"),
        ("onnx_ext_dotdot", ext_init("w", "../cases/ext/weights.bin"), "leaves the model's folder"),
        ("onnx_ext_missing", ext_init("w", "no_such_file.bin"), "no_such_file.bin"),
        ("onnx_ext_offset_past_end", ext_init("w", "weights.bin", offset=1 << 40), "external data of tensor `w`"),
        ("onnx_ext_length_short", ext_init("w", "weights.bin", length=8), "raw data has 8 bytes"),
        ("onnx_ext_bad_offset", ext_init("w", "weights.bin", offset="-3"), "bad offset"),
        ("onnx_ext_no_location", ext_init("w", None), "no `location` key"),
        ("onnx_ext_dir", ext_init("w", "."), "external data of tensor `w`"),
    ]:
        write("ext/" + nm + ".onnx", add_model(t))
        case(nm, ["import", "$C/ext/" + nm + ".onnx", "-o", "$O/out.qir"], exp)
    del base
    # --- shapes: overflow in products of folded / inferred shapes
    def i64(name, vals):
        return numpy_helper.from_array(np.array(vals, dtype=np.int64), name)

    onnx_case("onnx_reshape_overflow",
              model_bytes([helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape")], [X], [Y],
                          [i64("s", [1 << 40, 1 << 40, 1 << 40])]),
              "reshape")
    onnx_case("onnx_expand_overflow",
              model_bytes([helper.make_node("Expand", ["x", "s"], ["y"], name="expand")], [X], [Y],
                          [i64("s", [1 << 62, 1 << 62, 1, 4])]),
              "expand")
    onnx_case("onnx_constant_of_shape_huge",
              model_bytes([helper.make_node("ConstantOfShape", ["s"], ["y"], name="cos")], [], [Y],
                          [i64("s", [1 << 20, 1 << 20])]),
              "tensor size limit")
    onnx_case("onnx_tile_huge",
              model_bytes([helper.make_node("Tile", ["x", "r"], ["y"], name="tile")], [X], [Y],
                          [i64("r", [1 << 40, 1 << 40])]),
              "tile")
    onnx_case("onnx_gather_index_oob",
              model_bytes([helper.make_node("Gather", ["d", "i"], ["g"], name="gather"),
                           helper.make_node("Add", ["x", "g"], ["y"], name="add")], [X], [Y],
                          [numpy_helper.from_array(np.ones((3, 4), np.float32), "d"), i64("i", [100])]),
              "gather")
    onnx_case("onnx_transpose_bad_perm",
              model_bytes([helper.make_node("Transpose", ["x"], ["y"], name="tr", perm=[0, 0])], [X], [Y]),
              "tr")
    onnx_case("onnx_concat_bad_axis",
              model_bytes([helper.make_node("Concat", ["x", "x"], ["y"], name="cat", axis=7)], [X], [Y]),
              "cat")
    onnx_case("onnx_conv_group_zero",
              model_bytes([helper.make_node("Conv", ["x4", "w"], ["y4"], name="conv", group=0)],
                          [vi("x4", [1, 2, 4, 4])], [vi("y4", [1, 2, 4, 4])],
                          [numpy_helper.from_array(np.ones((2, 2, 1, 1), np.float32), "w")]),
              "conv")
    onnx_case("onnx_slice_zero_step",
              model_bytes([helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"], name="slice")], [X], [Y],
                          [i64("st", [0]), i64("en", [4]), i64("ax", [1]), i64("sp", [0])]),
              "slice")
    onnx_case("onnx_matmul_mismatch",
              model_bytes([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [X], [Y],
                          [numpy_helper.from_array(np.ones((5, 4), np.float32), "w")]),
              "mm")
    # --- quantization parameters
    def qdq(name, scale, zp, zp_dtype=np.uint8):
        nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="q"),
                 helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], name="dq")]
        inits = [numpy_helper.from_array(np.array(scale, np.float32), "s"),
                 numpy_helper.from_array(np.array(zp, zp_dtype), "z")]
        onnx_case(name, model_bytes(nodes, [X], [Y], inits), "scale")

    qdq("onnx_zero_scale", 0.0, 128)
    qdq("onnx_nan_scale", float("nan"), 128)
    qdq("onnx_inf_scale", float("inf"), 128)
    qdq("onnx_negative_scale", -0.5, 128)
    nodes = [helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], name="dq")]
    inits = [numpy_helper.from_array(np.array(0.1, np.float32), "s"),
             numpy_helper.from_array(np.array(300, np.int32), "z")]
    onnx_case("onnx_zero_point_out_of_range",
              model_bytes(nodes, [vi("q", [1, 4], TensorProto.INT8)], [Y], inits), "zero_point")
    # --- limits
    chain = [helper.make_node("Relu", ["x" if i == 0 else f"t{i}"], [f"t{i + 1}" if i < 199 else "y"],
                              name=f"r{i}") for i in range(200)]
    write("onnx_many_nodes.onnx", model_bytes(chain, [X], [Y]))
    case("onnx_node_limit", ["import", "$C/onnx_many_nodes.onnx", "-o", "$O/out.qir", "--max-nodes", "100"],
         "node count limit")
    case("onnx_depth_limit", ["import", "$C/onnx_many_nodes.onnx", "-o", "$O/out.qir", "--max-depth", "50"],
         "depth limit")
    write("onnx_ok_relu.onnx", GOOD)
    case("onnx_tensor_bytes_limit",
         ["import", "$C/onnx_float_init_64.onnx", "-o", "$O/out.qir", "--max-tensor-bytes", "100"],
         "tensor size limit")
    write("onnx_float_init_64.onnx",
          add_model(numpy_helper.from_array(np.ones((64, 4), np.float32), "w"))[:0] +
          model_bytes([helper.make_node("Add", ["x", "w"], ["y"], name="add")], [X], [vi("y", [64, 4])],
                      [numpy_helper.from_array(np.ones((64, 4), np.float32), "w")]))


QIR_HEAD = "graph @g phase=imported {\n  input %x: f32[1,4]\n"


def qir_case(name, text, expect, cmd="opt"):
    write(name + ".qir", text.encode())
    case(name, [cmd, "$C/" + name + ".qir"] + (["-o", "$O/out.qir"] if cmd == "opt" else []), expect)


def gen_qir():
    qir_case("qir_garbage", "\x7fELF\x02\x01\x01 not a graph at all", "expected")
    qir_case("qir_truncated", QIR_HEAD + "  %0 = Relu(%x", "expected")
    qir_case("qir_empty", "", "expected")
    qir_case("qir_unknown_op", QIR_HEAD + "  %0 = Frobnicate(%x) : f32[1,4]\n  output \"y\" = %0\n}\n",
             "Frobnicate")
    qir_case("qir_bad_dtype", "graph @g {\n  input %x: f33[1,4]\n  output \"y\" = %x\n}\n", "f33")
    qir_case("qir_huge_dim_literal",
             "graph @g {\n  input %x: f32[99999999999999999999999]\n  output \"y\" = %x\n}\n", "99999999999999999999999")
    qir_case("qir_shape_product_overflow",
             QIR_HEAD + "  const @c: f32[4294967296,4294967296] = [1.0]\n  %0 = Add(%x, @c) : f32[*]\n"
             "  output \"y\" = %0\n}\n", "overflow")
    qir_case("qir_const_count_mismatch",
             QIR_HEAD + "  const @c: f32[3] = [1.0]\n  %0 = Add(%x, @c) : f32[*]\n  output \"y\" = %0\n}\n",
             "@c")
    qir_case("qir_undefined_value", QIR_HEAD + "  %0 = Relu(%9) : f32[1,4]\n  output \"y\" = %0\n}\n", "%9")
    qir_case("qir_cycle",
             QIR_HEAD + "  %0 = Relu(%1) : f32[1,4]\n  %1 = Relu(%0) : f32[1,4]\n  output \"y\" = %1\n}\n", "%1")
    qir_case("qir_duplicate_value",
             QIR_HEAD + "  %0 = Relu(%x) : f32[1,4]\n  %0 = Relu(%x) : f32[1,4]\n  output \"y\" = %0\n}\n", "%0")
    qir_case("qir_duplicate_output",
             QIR_HEAD + "  %0 = Relu(%x) : f32[1,4]\n  output \"y\" = %0\n  output \"y\" = %0\n}\n", "\"y\"")
    qir_case("qir_duplicate_input",
             "graph @g {\n  input %x: f32[1,4]\n  input %x: f32[1,4]\n  output \"y\" = %x\n}\n", "%x")
    for nm, sc in [("zero", "0.0"), ("nan", "nan"), ("inf", "inf"), ("negative", "-0.5")]:
        qir_case(f"qir_{nm}_scale",
                 QIR_HEAD + f"  %0 = Quantize(%x) : i8<{sc}:0>[1,4]\n  output \"y\" = %0\n}}\n",
                 "scale")
    qir_case("qir_zero_point_out_of_range",
             QIR_HEAD + "  %0 = Quantize(%x) : i8<0.1:300>[1,4]\n  output \"y\" = %0\n}\n",
             "zero point")
    qir_case("qir_missing_weight",
             QIR_HEAD + "  const @c: f32[1,4] = dense<sha256=\"00\">\n  %0 = Add(%x, @c) : f32[1,4]\n"
             "  output \"y\" = %0\n}\n", "@c")
    # a .qir with a corrupt .safetensors beside it
    write("qir_bad_safetensors.qir", (QIR_HEAD + "  output \"y\" = %x\n}\n").encode())
    write("qir_bad_safetensors.safetensors", struct.pack("<Q", 1 << 60) + b"{}")
    case("qir_bad_safetensors", ["opt", "$C/qir_bad_safetensors.qir", "-o", "$O/out.qir"], "safetensors")
    write("qir_not_utf8.qir", b"graph @g {\n \xff\xfe\xfd }\n")
    case("qir_not_utf8", ["opt", "$C/qir_not_utf8.qir", "-o", "$O/out.qir"], "UTF-8")
    qir_case("qir_deep_nesting", "graph @g {\n  " + "[" * 100000 + "\n}\n", "expected")


def npy_bytes(arr=None, header=None, data=b""):
    if header is None:
        buf = io.BytesIO()
        np.save(buf, arr)
        return buf.getvalue()
    h = header.encode()
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data


def npz_bytes(arrays):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, b in arrays:
            zi = zipfile.ZipInfo(name + ".npy", date_time=(2020, 1, 1, 0, 0, 0))
            z.writestr(zi, b)
    return buf.getvalue()


def npz_case(name, data, expect, model="$C/onnx_ok_relu.onnx"):
    write(name + ".npz", data)
    case(name, ["run", model, "--inputs", "$C/" + name + ".npz"], expect)


def gen_npz():
    x = np.ones((2, 1, 4), np.float32)
    good = npz_bytes([("x", npy_bytes(x))])
    npz_case("npz_truncated", good[: len(good) // 2], "not a readable .npz")
    npz_case("npz_garbage", b"PK\x03\x04" + b"\0" * 40, "npz")
    npz_case("npz_empty_file", b"", "not a readable .npz")
    npz_case("npz_complex_dtype", npz_bytes([("x", npy_bytes(np.ones((2, 1, 4), np.complex64)))]), "dtype")
    npz_case("npz_object_dtype",
             npz_bytes([("x", npy_bytes(header="{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
                                        data=b"\0" * 16))]), "`x`")
    npz_case("npz_huge_header_shape",
             npz_bytes([("x", npy_bytes(header="{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776, 4), }",
                                        data=b"\0" * 16))]), "`x`")
    npz_case("npz_huge_shape_fits",
             npz_bytes([("x", npy_bytes(header="{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824, 1, 4), }",
                                        data=b"\0" * 16))]), "`x`")
    npz_case("npz_truncated_data",
             npz_bytes([("x", npy_bytes(header="{'descr': '<f4', 'fortran_order': False, 'shape': (10, 1, 4), }",
                                        data=b"\0" * 8))]), "`x`")
    npz_case("npz_negative_shape",
             npz_bytes([("x", npy_bytes(header="{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 1, 4), }",
                                        data=b"\0" * 8))]), "`x`")
    npz_case("npz_bad_header",
             npz_bytes([("x", npy_bytes(header="{'descr': <f4, 'shape': ((((, }", data=b"\0" * 8))]), "`x`")
    npz_case("npz_bad_magic", npz_bytes([("x", b"\x93NUMPX\x01\x00\x10\x00" + b" " * 16)]), "`x`")
    npz_case("npz_missing_input", npz_bytes([("z", npy_bytes(x))]), "no array named `x`")
    npz_case("npz_wrong_sample_shape", npz_bytes([("x", npy_bytes(np.ones((2, 3, 5), np.float32)))]), "shape")
    npz_case("npz_wrong_rank", npz_bytes([("x", npy_bytes(np.ones((2, 4, 3), np.float32)))]), "shape")
    npz_case("npz_wrong_dtype_for_model", npz_bytes([("x", npy_bytes(np.ones((2, 1, 4), np.int64)))]),
             "model wants f32")
    npz_case("npz_scalar", npz_bytes([("x", npy_bytes(np.float32(1.0)))]), "scalar")
    npz_case("npz_zero_samples", npz_bytes([("x", npy_bytes(np.ones((0, 1, 4), np.float32)))]), "no samples")
    npz_case("npz_fortran_order", npz_bytes([("x", npy_bytes(np.asfortranarray(np.ones((2, 1, 4), np.float32))))
                                             ])[:0] +
             npz_bytes([("x", npy_bytes(header="{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1, 4), }",
                                        data=b"\0" * 32))]), "Fortran")
    npz_case("npz_big_endian", npz_bytes([("x", npy_bytes(np.ones((2, 1, 4), ">f4")))]), "dtype")
    # the wrong kind of file as input
    case("run_onnx_as_inputs", ["run", "$C/onnx_ok_relu.onnx", "--inputs", "$C/onnx_ok_relu.onnx"],
         "not a readable .npz")
    case("run_missing_inputs", ["run", "$C/onnx_ok_relu.onnx", "--inputs", "$C/no_such.npz"], "no_such.npz")
    case("run_npz_as_model", ["run", "$C/npz_truncated.npz", "--inputs", "$C/npz_truncated.npz"],
         "unknown model format")
    write("npy_plain.npy", npy_bytes(x))
    case("run_npy_as_inputs", ["run", "$C/onnx_ok_relu.onnx", "--inputs", "$C/npy_plain.npy"],
         "not a readable .npz")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    gen_onnx()
    gen_qir()
    gen_npz()
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(CASES, f, indent=1)
        f.write("\n")
    print(f"{len(CASES)} cases in {OUT}")


if __name__ == "__main__":
    main()
