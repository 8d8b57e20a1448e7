"""export/client.py: TF Serving's REST and gRPC formats, and full round trips.

Three levels:
1. Request bodies and response parsing checked against TF Serving's documented formats
   (tensorflow/serving `json_tensor.cc`: row `instances` -> `predictions`, columnar `inputs` ->
   `outputs`, `{"b64": ...}` for string outputs named `*_bytes`, `{"error": ...}`).
2. Round trips through STAND-INS, not TF Serving: a small HTTP server and a real gRPC server, both in
   this file, that run the exported SavedModel with `tf.saved_model.load` and follow those formats.
   They exercise the client's HTTP, JSON, base64, protobuf and gRPC code for real; they do not
   prove TF Serving's own behaviour (no TF Serving binary exists on these machines).
3. Against a real TF Serving when `TFSERVING_URL` (REST, e.g. http://localhost:8501) and/or
   `TFSERVING_GRPC` (e.g. localhost:8500) are set, serving the model as `TFSERVING_MODEL`
   (default `generator`); skipped otherwise. See export/README.md for the docker command.
"""

import base64
import importlib.util
import json
import os
import re
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import json_format
from PIL import Image
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
)

import tfgan_orig
from tfgan_orig import export, networks

_CLIENT_PATH = os.path.join(os.path.dirname(__file__), os.pardir, "export", "client.py")
_spec = importlib.util.spec_from_file_location("tfgan_serving_client", _CLIENT_PATH)
client = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(client)

LATENT = 8
SHAPE = (4, 4, 1)
MODEL = "generator"


# ------------------------------------------------------------------------------------ formats
def test_rest_url():
    assert client.rest_url("http://h:8501/", "g") == "http://h:8501/v1/models/g:predict"
    assert client.rest_url("http://h:8501", "g", 3) == "http://h:8501/v1/models/g/versions/3:predict"
    assert client.rest_url("http://h:8501", "g", verb=None) == "http://h:8501/v1/models/g/metadata"


def test_generate_request_is_columnar_with_scalars():
    assert client.generate_request(7, 16) == {
        "signature_name": "generate",
        "inputs": {"seed": 7, "num": 16},
    }
    body = client.generate_request(np.int64(1), np.int32(2), labels=np.array([0, 1]))
    assert body["inputs"] == {"seed": 1, "num": 2, "labels": [0, 1]}
    json.dumps(body)  # plain JSON types only (numpy ints are not serializable)


def test_serving_default_row_and_columnar_requests():
    z = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    row = client.serving_default_request(z)
    assert row["signature_name"] == "serving_default" and set(row) == {"signature_name", "instances"}
    # A single-input signature takes a plain list of rows; float32 values survive JSON exactly.
    np.testing.assert_array_equal(
        np.asarray(json.loads(json.dumps(row))["instances"], np.float32), z
    )
    row_labels = client.serving_default_request(z, labels=[1, 2])
    assert [set(i) for i in row_labels["instances"]] == [{"z", "labels"}] * 2
    assert [i["labels"] for i in row_labels["instances"]] == [1, 2]
    col = client.serving_default_request(z, labels=[1, 2], request_format="columnar")
    assert set(col) == {"signature_name", "inputs"} and col["inputs"]["labels"] == [1, 2]
    np.testing.assert_array_equal(np.asarray(col["inputs"]["z"], np.float32), z)
    with pytest.raises(ValueError, match="Valid choices"):
        client.serving_default_request(z, request_format="rows")


def test_cli_refuses_row_format_for_generate():
    with pytest.raises(SystemExit):
        client.parse_args(["--rest=http://x", "--signature=generate", "--format=row"])


PNG_B64 = base64.b64encode(b"\x89PNG-fake").decode()


@pytest.mark.parametrize(
    "text, expected",
    [
        # Row request, single-output signature: bare values, one per batch item.
        ('{"predictions": [[[0.5], [0.25]], [[1.0], [0.0]]]}',
         {"images": np.array([[[0.5], [0.25]], [[1.0], [0.0]]], np.float32)}),
        # Row request, two outputs: one object per batch item.
        ('{"predictions": [{"images": [0.5], "png_bytes": {"b64": "%s"}},'
         ' {"images": [1.0], "png_bytes": {"b64": "%s"}}]}' % (PNG_B64, PNG_B64),
         {"images": np.array([[0.5], [1.0]], np.float32), "png_bytes": [b"\x89PNG-fake"] * 2}),
        # Columnar request, two outputs: an object of whole tensors.
        ('{"outputs": {"images": [[1.0, 2.0]], "png_bytes": [{"b64": "%s"}]}}' % PNG_B64,
         {"images": np.array([[1.0, 2.0]], np.float32), "png_bytes": [b"\x89PNG-fake"]}),
        # Columnar request, single output: the bare tensor.
        ('{"outputs": [[1.0, 2.0], [3.0, 4.0]]}',
         {"images": np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)}),
    ],
)
def test_parse_rest_response(text, expected):
    got = client.parse_rest_response(json.loads(text))
    assert set(got) == set(expected)
    for name, value in expected.items():
        if isinstance(value, np.ndarray):
            assert got[name].dtype == np.float32
            np.testing.assert_array_equal(got[name], value)
        else:
            assert got[name] == value


def test_parse_rest_error():
    with pytest.raises(client.ServingError, match="num must be in"):
        client.parse_rest_response({"error": "assertion failed: [num must be in [1, 1024]]"})
    with pytest.raises(client.ServingError, match="Not a predict response"):
        client.parse_rest_response({"model_version_status": []})


def test_latent_dim_from_metadata_json():
    # The shape of TF Serving's GET .../metadata answer (proto3 JSON: int64 sizes are strings).
    metadata = {
        "model_spec": {"name": "generator", "signature_name": "", "version": "1"},
        "metadata": {"signature_def": {"signature_def": {"serving_default": {
            "inputs": {"z": {"dtype": "DT_FLOAT", "tensor_shape": {
                "dim": [{"size": "-1", "name": ""}, {"size": "100", "name": ""}],
                "unknown_rank": False}, "name": "serving_default_z:0"}},
            "outputs": {}, "method_name": "tensorflow/serving/predict"}}}},
    }
    assert client.latent_dim_from_metadata(metadata) == 100
    with pytest.raises(client.ServingError, match="serving_default"):
        client.latent_dim_from_metadata({"metadata": {}})


def test_make_predict_request_types():
    inputs = client.grpc_inputs("generate", seed=3, num=4, labels=[1, 0, 1, 0])
    request = client.make_predict_request("generator", "generate", inputs, version=2)
    assert request.model_spec.name == "generator"
    assert request.model_spec.signature_name == "generate"
    assert request.model_spec.version.value == 2
    assert request.inputs["seed"].dtype == tf.int64.as_datatype_enum
    assert request.inputs["num"].dtype == tf.int32.as_datatype_enum
    assert request.inputs["labels"].dtype == tf.int32.as_datatype_enum
    assert len(request.inputs["seed"].tensor_shape.dim) == 0  # scalars, as the signature says
    assert int(tf.make_ndarray(request.inputs["seed"])) == 3
    z = np.ones((2, LATENT), np.float64)
    request = client.make_predict_request(
        "g", "serving_default", client.grpc_inputs("serving_default", z=z)
    )
    assert request.inputs["z"].dtype == tf.float32.as_datatype_enum
    assert [d.size for d in request.inputs["z"].tensor_shape.dim] == [2, LATENT]
    assert not request.model_spec.HasField("version")


def test_parse_predict_response():
    response = predict_pb2.PredictResponse()
    images = np.arange(8, dtype=np.float32).reshape(2, 2, 2, 1) / 8
    response.outputs["images"].CopyFrom(tf.make_tensor_proto(images))
    response.outputs["png_bytes"].CopyFrom(tf.make_tensor_proto(np.array([b"a\x00", b"b"], object)))
    got = client.parse_predict_response(response)
    np.testing.assert_array_equal(got["images"], images)
    assert got["png_bytes"] == [b"a\x00", b"b"]


def test_image_grid_and_scatter():
    images = np.zeros((3, 2, 2, 1), np.float32)
    images[1] = 1.0
    grid = client.image_grid(images, pad=1)
    assert grid.shape == (2 * 3 - 1, 2 * 3 - 1, 1) and grid.dtype == np.uint8
    assert (grid[0:2, 3:5] == 255).all() and (grid[0:2, 0:2] == 0).all()  # image 1 is second
    assert (grid[3:5, 3:5] == 0).all()  # the empty cell stays black
    picture = client.scatter_image(np.array([[0.0, 0.0], [1.0, 1.0]]), size=11, margin=0.0)
    assert picture[10, 0, 0] == 255 and picture[0, 10, 0] == 255  # (0,0) bottom-left, y up
    assert picture.sum() == 2 * 255
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        client.scatter_image(np.zeros((3, 3)))


# ------------------------------------------------------------------------------------ stand-ins
def _leaf_ok(value, dtype):
    if dtype.is_integer:
        return isinstance(value, int) and not isinstance(value, bool)
    if dtype.is_floating:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return True


def _to_array(value, dtype, name):
    """A JSON value -> numpy array of the signature's dtype, rejecting what TF Serving rejects."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif not _leaf_ok(v, dtype):
            raise ValueError(f"JSON Value: {v!r} is not of expected type: {dtype.name} ({name})")
    return np.asarray(value, dtype.as_numpy_dtype)


def _json_value(array, name):
    if array.dtype == object:  # strings: base64 only for `*_bytes` names, as TF Serving does
        if name.endswith("_bytes"):
            return np.vectorize(lambda b: {"b64": base64.b64encode(b).decode()}, otypes=[object])(
                array
            ).tolist()
        return np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(
            array
        ).tolist()
    return array.tolist()


class StandInServing:
    """Serves one SavedModel as model `name`, version `version`. NOT TF Serving."""

    def __init__(self, path, name, version):
        self.path, self.name, self.version = path, name, version
        self.model = tf.saved_model.load(path)
        self.lock = threading.Lock()

    def input_specs(self, signature):
        return self.model.signatures[signature].structured_input_signature[1]

    def run(self, signature, inputs):
        with self.lock:
            out = self.model.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
        return {k: v.numpy() for k, v in out.items()}

    def metadata(self):
        saved = saved_model_pb2.SavedModel()
        with open(os.path.join(self.path, "saved_model.pb"), "rb") as f:
            saved.ParseFromString(f.read())
        sig_map = get_model_metadata_pb2.SignatureDefMap()
        for k, v in saved.meta_graphs[0].signature_def.items():
            if not k.startswith("__"):
                sig_map.signature_def[k].CopyFrom(v)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = self.name
        response.model_spec.version.value = self.version
        response.metadata["signature_def"].Pack(sig_map)
        return response

    # -- REST, following json_tensor.cc
    def rest_predict(self, body):
        signature = body.get("signature_name") or "serving_default"
        if signature not in self.model.signatures:
            raise ValueError(f"Serving signature name: \"{signature}\" not found in signature def")
        specs = self.input_specs(signature)
        if ("instances" in body) == ("inputs" in body):
            raise ValueError("Missing 'inputs' or 'instances' key (or both given)")
        if "instances" in body:
            rows = body["instances"]
            if not isinstance(rows, list) or not rows:
                raise ValueError("Excepting 'instances' to be an list/array")
            if isinstance(rows[0], dict):
                for i, row in enumerate(rows):
                    if set(row) != set(specs):
                        raise ValueError(f"Failed to process element: {i} keys must be equal to: "
                                         f"{','.join(sorted(specs))}")
                columns = {k: [r[k] for r in rows] for k in specs}
            else:
                if len(specs) > 1:
                    raise ValueError("instances is a plain list, but expecting list of objects "
                                     "as multiple input tensors required as per tensorinfo_map")
                columns = {next(iter(specs)): rows}
        else:
            given = body["inputs"]
            if isinstance(given, dict):
                missing = [k for k in specs if k not in given]
                if missing:
                    raise ValueError(f"Missing named input: {missing[0]} in 'inputs' object.")
                columns = {k: given[k] for k in specs}
            elif len(specs) == 1:
                columns = {next(iter(specs)): given}
            else:
                raise ValueError("inputs is a plain value/list, but expecting an object")
        inputs = {k: _to_array(v, specs[k].dtype, k) for k, v in columns.items()}
        outputs = self.run(signature, inputs)
        if "instances" in body:
            batch = {v.shape[0] if v.ndim else None for v in outputs.values()}
            if len(batch) != 1 or None in batch:
                raise ValueError("Tensor has inconsistent batch size")
            rows = []
            for i in range(batch.pop()):
                items = {k: _json_value(v[i : i + 1], k)[0] for k, v in outputs.items()}
                rows.append(items if len(items) > 1 else next(iter(items.values())))
            return {"predictions": rows}
        values = {k: _json_value(v, k) for k, v in outputs.items()}
        return {"outputs": values if len(values) > 1 else next(iter(values.values()))}


def _rest_handler(serving):
    pattern = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?(:predict|/metadata)$")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, code, payload):
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, verb):
            m = pattern.match(self.path)
            if not m or m.group(3) != verb:
                return self._answer(404, {"error": f"Malformed request: {self.path}"})
            name, version = m.group(1), m.group(2)
            if name != serving.name or (version and int(version) != serving.version):
                return self._answer(404, {"error": f"Servable not found for request: {name}"})
            return True

        def do_GET(self):
            if self._route("/metadata") is True:
                self._answer(200, json_format.MessageToDict(serving.metadata(),
                                                            preserving_proto_field_name=True))

        def do_POST(self):
            if self._route(":predict") is not True:
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                self._answer(200, serving.rest_predict(body))
            except (ValueError, TypeError, tf.errors.InvalidArgumentError) as e:
                message = e.message if isinstance(e, tf.errors.OpError) else str(e)
                self._answer(400, {"error": message})

        def log_message(self, *args):
            pass

    return Handler


class _Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, serving):
        self.serving = serving

    def Predict(self, request, context):
        if request.model_spec.name != self.serving.name:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Servable not found: {request.model_spec.name}")
        signature = request.model_spec.signature_name or "serving_default"
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        try:
            outputs = self.serving.run(signature, inputs)
        except (ValueError, TypeError, KeyError, tf.errors.InvalidArgumentError) as e:
            message = e.message if isinstance(e, tf.errors.OpError) else str(e)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = self.serving.name
        response.model_spec.version.value = self.serving.version
        for k, v in outputs.items():
            response.outputs[k].CopyFrom(tf.make_tensor_proto(v))
        return response

    def GetModelMetadata(self, request, context):
        return self.serving.metadata()


@pytest.fixture(scope="module")
def gan():
    g = networks.paper_generator(LATENT, hidden_units=(16,), output_shape=SHAPE, seed=5)
    d = networks.paper_discriminator(SHAPE, units=8, pieces=2, seed=5)
    return tfgan_orig.GAN(g, d, latent_dim=LATENT, seed=5)


@pytest.fixture(scope="module")
def serving(gan, tmp_path_factory):
    path = export.export_generator(gan, str(tmp_path_factory.mktemp("models") / MODEL))
    return StandInServing(path, MODEL, int(os.path.basename(path)))


@pytest.fixture(scope="module")
def rest_url(serving):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _rest_handler(serving))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def grpc_address(serving):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_Servicer(serving), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None)


def _direct(serving, signature, **inputs):
    return serving.run(signature, inputs)


def test_rest_round_trip_generate_columnar(serving, rest_url, gan):
    out = client.rest_predict(rest_url, MODEL, client.generate_request(3, 5))
    assert set(out) == {"images", "png_bytes"}
    np.testing.assert_array_equal(out["images"], _direct(serving, "generate", seed=np.int64(3),
                                                         num=np.int32(5))["images"])
    np.testing.assert_allclose(out["images"], gan.generate(5, seed=3), atol=1e-6)
    for png, image in zip(out["png_bytes"], out["images"]):
        np.testing.assert_array_equal(tf.io.decode_png(png).numpy(),
                                      np.round(image * 255).astype(np.uint8))


@pytest.mark.parametrize("request_format", ["row", "columnar"])
def test_rest_round_trip_serving_default(serving, rest_url, request_format):
    z = np.random.default_rng(1).standard_normal((3, LATENT)).astype(np.float32)
    body = client.serving_default_request(z, request_format=request_format)
    out = client.rest_predict(rest_url, MODEL, body, version=serving.version)
    assert set(out) == {"images"}
    np.testing.assert_array_equal(out["images"], _direct(serving, "serving_default", z=z)["images"])


def test_rest_errors_and_metadata(rest_url):
    with pytest.raises(client.ServingError, match=r"(?s)HTTP 400.*num must be in \[1, 1024\]"):
        client.rest_predict(rest_url, MODEL, client.generate_request(0, 0))
    with pytest.raises(client.ServingError, match="HTTP 404"):
        client.rest_predict(rest_url, "nope", client.generate_request(0, 1))
    with pytest.raises(client.ServingError, match="not of expected type"):
        client.rest_predict(rest_url, MODEL, {"signature_name": "generate",
                                              "inputs": {"seed": 1, "num": 2.5}})
    assert client.latent_dim_from_metadata(client.rest_metadata(rest_url, MODEL)) == LATENT


def test_grpc_round_trip(serving, grpc_address, gan):
    inputs = client.grpc_inputs("generate", seed=4, num=3)
    out = client.grpc_predict(grpc_address, MODEL, "generate", inputs)
    np.testing.assert_allclose(out["images"], gan.generate(3, seed=4), atol=1e-6)
    assert len(out["png_bytes"]) == 3 and out["png_bytes"][0].startswith(b"\x89PNG")
    z = np.ones((2, LATENT), np.float32)
    out = client.grpc_predict(grpc_address, MODEL, "serving_default",
                              client.grpc_inputs("serving_default", z=z))
    np.testing.assert_array_equal(out["images"], _direct(serving, "serving_default", z=z)["images"])
    assert client.grpc_latent_dim(grpc_address, MODEL) == LATENT
    with pytest.raises(client.ServingError, match="(?s)INVALID_ARGUMENT.*num must be in"):
        client.grpc_predict(grpc_address, MODEL, "generate",
                            client.grpc_inputs("generate", seed=0, num=5000))


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_cli_writes_a_png_grid(transport, rest_url, grpc_address, tmp_path):
    out = tmp_path / "grid.png"
    where = f"--rest={rest_url}" if transport == "rest" else f"--grpc={grpc_address}"
    outputs = client.main([where, "--num=16", "--seed=2", f"--out={out}"])
    grid = np.array(Image.open(out))
    assert grid.shape == (4 * (SHAPE[0] + 1) - 1,) * 2  # 4 x 4 tiles with 1-pixel gaps
    np.testing.assert_array_equal(grid, client.image_grid(outputs["images"])[..., 0])
    # serving_default through the CLI: latent_dim from the model's metadata.
    client.main([where, "--signature=serving_default", "--num=4", f"--out={out}"])
    assert np.array(Image.open(out)).shape == (2 * (SHAPE[0] + 1) - 1,) * 2


# ------------------------------------------------------------------------------------ hostile server
# A real HTTP server on 127.0.0.1 that answers every request of `/<case>/...` with a canned,
# broken or hostile reply. Each must reach the caller as a ServingError carrying what the server
# said, never as a JSON, base64, KeyError, TypeError, ... traceback.
_DEEP = "[" * 100000 + "]" * 100000
_HOSTILE = {
    # case: (status, body, extra headers)
    "not_json": (200, b"<html>proxy says oops</html>", {}),
    "json_list": (200, b'["oops", 1]', {}),
    "json_string": (200, b'"oops"', {}),
    "json_number": (200, b"42", {}),
    "bad_b64": (200, b'{"outputs": {"images": [[0.5]], "png_bytes": [{"b64": "!!oops!!"}]}}', {}),
    "odd_object": (200, b'{"outputs": {"images": {"oops": 1}}}', {}),
    "missing_key": (200, b'{"predictions": [{"images": [0.5]}, {"oops": [1.0]}]}', {}),
    "ragged": (200, b'{"outputs": [[0.5, 0.5], [0.5]], "oops": 1}', {}),
    "predictions_not_list": (200, b'{"predictions": "oops"}', {}),
    "outputs_null": (200, b'{"outputs": null, "oops": 1}', {}),
    "deep": (200, ('{"outputs": ' + _DEEP + ', "oops": 1}').encode(), {}),
    "deep_error": (400, ('{"error": ' + _DEEP + ', "oops": 1}').encode(), {}),
    "error_not_string": (400, b'{"error": {"oops": [1, 2]}}', {}),
    "error_list": (400, b'["oops"]', {}),
    "error_text": (503, b"oops: upstream connect error", {}),
    "bad_utf8": (200, b'{"outputs": "\xff\xfe oops"}', {}),
    "truncated": (200, b'{"outputs": [[0.5', {"Content-Length": "1000"}),
    "strings": (200, b'{"outputs": [["oops", "b"]]}', {}),
    "no_images": (200, b'{"outputs": {"oops": [[1.0]], "other": [[2.0]]}}', {}),
    "nan_points": (200, b'{"outputs": [[NaN, 0.0], [1.0, 2.0], [0.5, 0.5]]}', {}),
    "inf_images": (200, b'{"outputs": [[[[Infinity]]], [[[0.5]]]]}', {}),
    "scalar_images": (200, b'{"outputs": 0.5}', {}),
    "metadata_bad_size": (200, json.dumps({"metadata": {"signature_def": {"signature_def": {
        "serving_default": {"inputs": {"z": {"tensor_shape": {"dim": [{"size": "oops"}]}}}}}}}}
    ).encode(), {}),
    "metadata_list": (200, b'["oops"]', {}),
}


@pytest.fixture(scope="module")
def hostile_url():
    class Handler(BaseHTTPRequestHandler):
        def _reply(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            case = self.path.strip("/").split("/")[0]
            if case == "huge":  # 4 MiB of valid JSON without a Content-Length header
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b'{"outputs": [' + b"0.5, " * (4 << 18) + b"0.5]}")
                return
            status, body, headers = _HOSTILE[case]
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            headers = {"Content-Length": str(len(body)), **headers}
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _reply

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "case",
    [c for c in _HOSTILE if c not in ("strings", "no_images", "nan_points", "inf_images",
                                      "scalar_images") and not c.startswith("metadata")],
)
def test_hostile_predict_responses_are_serving_errors_with_the_servers_words(hostile_url, case):
    with pytest.raises(client.ServingError) as err:
        client.rest_predict(f"{hostile_url}/{case}", MODEL, client.generate_request(0, 2))
    message = str(err.value)
    assert len(message) < 2000, message  # a bounded excerpt, not the whole reply
    said = {"json_number": "42", "deep": '{"outputs": [[[[', "deep_error": '{"error": [[[[',
            "truncated": '{"outputs": [[0.5'}.get(case, "oops")
    assert said in message, message


@pytest.mark.parametrize("case", ["strings", "no_images", "nan_points", "inf_images",
                                  "scalar_images"])
def test_cli_refuses_outputs_it_cannot_picture(hostile_url, case, tmp_path):
    """Non-numeric, missing, NaN/Inf or wrongly shaped `images` are errors, not a silent plot."""
    out = tmp_path / "grid.png"
    with pytest.raises(client.ServingError, match="images") as err:
        client.main([f"--rest={hostile_url}/{case}", "--num=2", f"--out={out}"])
    if case in ("nan_points", "inf_images"):
        assert "finite" in str(err.value)
    assert not out.exists()


@pytest.mark.parametrize("case", ["metadata_bad_size", "metadata_list", "not_json"])
def test_hostile_metadata_is_a_serving_error(hostile_url, case, tmp_path):
    with pytest.raises(client.ServingError, match="oops"):
        client.main([f"--rest={hostile_url}/{case}", "--signature=serving_default", "--num=2",
                     f"--out={tmp_path / 'g.png'}"])


def test_response_size_is_capped(hostile_url, serving, rest_url):
    with pytest.raises(client.ServingError, match="larger than"):
        client.rest_predict(f"{hostile_url}/huge", MODEL, client.generate_request(0, 2),
                            max_response_bytes=1 << 20)
    with pytest.raises(client.ServingError, match="larger than"):  # announced by Content-Length
        client.rest_predict(f"{hostile_url}/bad_b64", MODEL, client.generate_request(0, 2),
                            max_response_bytes=16)
    # The default cap lets a normal answer through.
    assert client.rest_predict(rest_url, MODEL, client.generate_request(0, 2))["images"].shape[0] == 2


def test_unreachable_server_is_a_serving_error():
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(client.ServingError, match=f"127.0.0.1:{port}"):
        client.rest_predict(f"http://127.0.0.1:{port}", MODEL, client.generate_request(0, 2))


def test_scatter_and_grid_refuse_non_finite_values():
    with pytest.raises(ValueError, match="finite"):
        client.scatter_image(np.array([[np.nan, 0.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="finite"):
        client.image_grid(np.full((1, 2, 2, 1), np.inf))


# ------------------------------------------------------------------------------------ real server
TFSERVING_URL = os.environ.get("TFSERVING_URL")
TFSERVING_GRPC = os.environ.get("TFSERVING_GRPC")
TFSERVING_MODEL = os.environ.get("TFSERVING_MODEL", MODEL)


@pytest.mark.skipif(not TFSERVING_URL, reason="set TFSERVING_URL to test against TF Serving")
def test_real_tf_serving_rest(tmp_path):
    out = client.rest_predict(TFSERVING_URL, TFSERVING_MODEL, client.generate_request(0, 4))
    again = client.rest_predict(TFSERVING_URL, TFSERVING_MODEL, client.generate_request(0, 4))
    images = out["images"]
    assert images.dtype == np.float32 and len(images) == 4
    np.testing.assert_array_equal(images, again["images"])  # same seed, same images
    if images.ndim == 4:
        assert 0.0 <= images.min() <= images.max() <= 1.0
        assert [p[:4] for p in out["png_bytes"]] == [b"\x89PNG"] * 4
    metadata = client.rest_metadata(TFSERVING_URL, TFSERVING_MODEL)
    latent_dim = client.latent_dim_from_metadata(metadata)
    z = np.zeros((2, latent_dim), np.float32)
    for fmt in client.FORMATS:
        body = client.serving_default_request(z, request_format=fmt)
        assert len(client.rest_predict(TFSERVING_URL, TFSERVING_MODEL, body)["images"]) == 2
    with pytest.raises(client.ServingError, match="num must be in"):
        client.rest_predict(TFSERVING_URL, TFSERVING_MODEL, client.generate_request(0, 0))
    client.main([f"--rest={TFSERVING_URL}", f"--model={TFSERVING_MODEL}",
                 f"--out={tmp_path / 'grid.png'}"])


@pytest.mark.skipif(not TFSERVING_GRPC, reason="set TFSERVING_GRPC to test against TF Serving")
def test_real_tf_serving_grpc():
    inputs = client.grpc_inputs("generate", seed=0, num=4)
    out = client.grpc_predict(TFSERVING_GRPC, TFSERVING_MODEL, "generate", inputs)
    assert len(out["images"]) == 4
    if TFSERVING_URL:  # both transports, one model: the same seed gives the same images
        rest = client.rest_predict(TFSERVING_URL, TFSERVING_MODEL, client.generate_request(0, 4))
        np.testing.assert_allclose(out["images"], rest["images"], rtol=1e-6)
    with pytest.raises(client.ServingError, match="INVALID_ARGUMENT"):
        client.grpc_predict(TFSERVING_GRPC, TFSERVING_MODEL, "generate",
                            client.grpc_inputs("generate", seed=0, num=0))
