"""Ask a running TF Serving for generated images (REST or gRPC) and write them as a PNG grid.

Examples (TF Serving started as in export/README.md, model name `generator`):

    # REST, `generate` signature (columnar request: its inputs are scalars)
    python export/client.py --rest=http://localhost:8501 --num=16 --seed=0 --out=grid.png
    # REST, `serving_default` with the row format ("instances"), z drawn here
    python export/client.py --rest=http://localhost:8501 --signature=serving_default \
        --format=row --num=16 --out=grid.png
    # gRPC (PredictRequest via tensorflow-serving-api)
    python export/client.py --grpc=localhost:8500 --num=16 --seed=0 --out=grid.png

Request/response formats follow TF Serving's REST API (tensorflow/serving `json_tensor.cc`):
- row: `{"signature_name": s, "instances": [...]}` -> `{"predictions": [...]}`; every input and
  output needs the same batch size in dimension 0, so only `serving_default` can use it.
- columnar: `{"signature_name": s, "inputs": {...}}` -> `{"outputs": {...}}` (or a bare value
  when the signature has a single output).
- string tensors whose names end in `_bytes` are base64-encoded as `{"b64": "..."}`.
- errors: `{"error": "..."}` with a non-200 status.

The REST path needs only numpy and Pillow; gRPC needs `grpcio`, `tensorflow-serving-api` and
TensorFlow (for the TensorProto conversions).
"""

import argparse
import base64
import json
import math
import sys
import urllib.error
import urllib.request

import numpy as np

SIGNATURES = ("generate", "serving_default")
FORMATS = ("columnar", "row")


class ServingError(RuntimeError):
    """TF Serving answered with an error (its message is kept)."""


# ------------------------------------------------------------------------------------ REST
def rest_url(base_url, model, version=None, verb="predict"):
    """`http://host:8501/v1/models/NAME[/versions/V]:predict` (or `/metadata` for verb=None)."""
    url = f"{base_url.rstrip('/')}/v1/models/{model}"
    if version is not None:
        url += f"/versions/{int(version)}"
    return url + (f":{verb}" if verb else "/metadata")


def generate_request(seed, num, labels=None):
    """Columnar body for the `generate` signature (scalar inputs cannot use the row format)."""
    inputs = {"seed": int(seed), "num": int(num)}
    if labels is not None:
        inputs["labels"] = [int(v) for v in labels]
    return {"signature_name": "generate", "inputs": inputs}


def serving_default_request(z, labels=None, request_format="row"):
    """Body for `serving_default`: `z` [batch, latent_dim] (and `labels` [batch])."""
    if request_format not in FORMATS:
        raise ValueError(f"Unknown format {request_format!r}. Valid choices: {list(FORMATS)}")
    z = np.asarray(z, np.float32)
    if z.ndim != 2:
        raise ValueError(f"z must be [batch, latent_dim]. Received shape {z.shape}")
    # float32 -> Python float is exact, and TF Serving parses it back to the same float32.
    rows = z.tolist()
    body = {"signature_name": "serving_default"}
    if request_format == "row":
        if labels is None:
            body["instances"] = rows  # a plain list: the signature has a single input
        else:
            body["instances"] = [{"z": r, "labels": int(l)} for r, l in zip(rows, labels)]
    else:
        body["inputs"] = {"z": rows}
        if labels is not None:
            body["inputs"]["labels"] = [int(v) for v in labels]
    return body


def _decode(value):
    """JSON value -> numpy array (numbers) or bytes/list of bytes (`{"b64": ...}` objects)."""
    if isinstance(value, str):  # a string output without the `_bytes` suffix: sent as is
        return value.encode("utf-8")
    if isinstance(value, dict):
        if set(value) == {"b64"}:
            return base64.b64decode(value["b64"])
        raise ServingError(f"Unexpected JSON object in a tensor: {sorted(value)}")
    if isinstance(value, list) and value and _contains_bytes(value):
        return [_decode(v) for v in value]
    return np.asarray(value, np.float32) if _is_float(value) else np.asarray(value)


def _contains_bytes(value):
    while isinstance(value, list) and value:
        value = value[0]
    return isinstance(value, (dict, str))


def _is_float(value):
    while isinstance(value, list) and value:
        value = value[0]
    return isinstance(value, float)


def parse_rest_response(body, single_output="images"):
    """A TF Serving :predict JSON response -> {output name: numpy array or list of bytes}.

    Args:
      body: the decoded JSON object.
      single_output: the name to give the output when the signature has only one (TF Serving
        then returns bare values without names).
    """
    if "error" in body:
        raise ServingError(body["error"])
    if "predictions" in body:  # row format: one entry per batch item
        rows = body["predictions"]
        if rows and isinstance(rows[0], dict) and set(rows[0]) != {"b64"}:
            names = list(rows[0])
            return {n: _stack([_decode(r[n]) for r in rows]) for n in names}
        return {single_output: _stack([_decode(r) for r in rows])}
    if "outputs" in body:  # columnar format
        outputs = body["outputs"]
        if isinstance(outputs, dict) and set(outputs) != {"b64"}:
            return {n: _decode(v) for n, v in outputs.items()}
        return {single_output: _decode(outputs)}
    raise ServingError(f"Not a predict response (no 'predictions'/'outputs'): {sorted(body)}")


def _stack(items):
    if items and isinstance(items[0], bytes):
        return list(items)
    return np.stack(items) if items else np.zeros((0,), np.float32)


def _http_json(url, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as e:
        # TF Serving reports errors as {"error": ...} with a 4xx/5xx status.
        payload = e.read()
        try:
            message = json.loads(payload).get("error", payload.decode(errors="replace"))
        except ValueError:
            message = payload.decode(errors="replace")
        raise ServingError(f"HTTP {e.code} from {url}: {message}") from None


def rest_predict(base_url, model, body, version=None, single_output="images", timeout=60):
    """POSTs a :predict body and returns the parsed outputs."""
    response = _http_json(rest_url(base_url, model, version), body, timeout)
    return parse_rest_response(response, single_output)


def rest_metadata(base_url, model, version=None, timeout=30):
    """GET /v1/models/NAME[/versions/V]/metadata (a JSON GetModelMetadataResponse)."""
    return _http_json(rest_url(base_url, model, version, verb=None), timeout=timeout)


def latent_dim_from_metadata(metadata):
    """latent_dim from a metadata JSON response: the last dimension of serving_default's `z`."""
    try:
        sigs = metadata["metadata"]["signature_def"]["signature_def"]
        dims = sigs["serving_default"]["inputs"]["z"]["tensor_shape"]["dim"]
        return int(dims[-1]["size"])  # int64 fields are strings in proto3 JSON
    except (KeyError, IndexError, TypeError) as e:
        raise ServingError(f"No serving_default input z in the model metadata ({e!r}).") from None


# ------------------------------------------------------------------------------------ gRPC
def make_predict_request(model, signature, inputs, version=None):
    """A `tensorflow.serving.PredictRequest` with `inputs` as TensorProtos.

    Args:
      inputs: {name: numpy value}; its dtype is what is sent (seed int64, num int32, z float32,
        labels int32).
    """
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = int(version)
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return request


def grpc_inputs(signature, seed=None, num=None, z=None, labels=None):
    """The typed input arrays of a signature, as the SavedModel declares them."""
    if signature == "generate":
        inputs = {"seed": np.int64(seed), "num": np.int32(num)}
    elif signature == "serving_default":
        inputs = {"z": np.asarray(z, np.float32)}
    else:
        raise ValueError(f"Unknown signature {signature!r}. Valid choices: {list(SIGNATURES)}")
    if labels is not None:
        inputs["labels"] = np.asarray(labels, np.int32)
    return inputs


def parse_predict_response(response):
    """A `PredictResponse` -> {output name: numpy array (bytes arrays as lists of bytes)}."""
    import tensorflow as tf

    out = {}
    for name, proto in response.outputs.items():
        value = tf.make_ndarray(proto)
        out[name] = list(value) if value.dtype == object else value
    return out


def grpc_predict(address, model, signature, inputs, version=None, timeout=60):
    """Calls PredictionService.Predict at `address` (host:port) and returns the parsed outputs."""
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    request = make_predict_request(model, signature, inputs, version)
    options = [("grpc.max_receive_message_length", 256 * 1024 * 1024)]
    with grpc.insecure_channel(address, options=options) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            response = stub.Predict(request, timeout=timeout)
        except grpc.RpcError as e:
            raise ServingError(f"gRPC {e.code().name} from {address}: {e.details()}") from None
    return parse_predict_response(response)


def grpc_latent_dim(address, model, version=None, timeout=30):
    """latent_dim via PredictionService.GetModelMetadata (the `signature_def` field)."""
    import grpc
    from tensorflow_serving.apis import get_model_metadata_pb2, prediction_service_pb2_grpc

    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = model
    if version is not None:
        request.model_spec.version.value = int(version)
    with grpc.insecure_channel(address) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        response = stub.GetModelMetadata(request, timeout=timeout)
    sig_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(sig_map)
    return sig_map.signature_def["serving_default"].inputs["z"].tensor_shape.dim[-1].size


# ------------------------------------------------------------------------------------ images
def image_grid(images, cols=None, pad=1):
    """[N, H, W, C] floats in [0, 1] -> one uint8 image [rows*(H+pad)-pad, cols*(W+pad)-pad, C]."""
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must be [N, H, W, C]. Received shape {images.shape}")
    n, h, w, c = images.shape
    cols = cols or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    grid = np.zeros((rows * (h + pad) - pad, cols * (w + pad) - pad, c), np.uint8)
    pixels = np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        grid[r * (h + pad) : r * (h + pad) + h, k * (w + pad) : k * (w + pad) + w] = pixels[i]
    return grid


def scatter_image(points, size=256, margin=0.05):
    """[N, 2] points -> a uint8 [size, size, 1] image with one white dot per point (black ground)."""
    points = np.asarray(points, np.float32)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be [N, 2]. Received shape {points.shape}")
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - margin * span, hi + margin * span
    xy = (points - lo) / (hi - lo) * (size - 1)
    canvas = np.zeros((size, size, 1), np.uint8)
    cols = np.clip(np.round(xy[:, 0]).astype(int), 0, size - 1)
    rows = np.clip(size - 1 - np.round(xy[:, 1]).astype(int), 0, size - 1)  # y up
    canvas[rows, cols] = 255
    return canvas


def write_png(array, path):
    """Writes a uint8 [H, W, C] array (C = 1 or 3) as PNG."""
    from PIL import Image

    array = np.asarray(array, np.uint8)
    Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(path, format="PNG")


def to_picture(images):
    """`images` output -> a uint8 picture: a grid for images, a scatter plot for 2-D points."""
    images = np.asarray(images)
    return image_grid(images) if images.ndim == 4 else scatter_image(images)


# ------------------------------------------------------------------------------------ CLI
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--rest", help="REST base URL, e.g. http://localhost:8501")
    where.add_argument("--grpc", help="gRPC address, e.g. localhost:8500")
    p.add_argument("--model", default="generator", help="model name in TF Serving")
    p.add_argument("--version", type=int, default=None, help="model version (default: latest)")
    p.add_argument("--signature", choices=SIGNATURES, default="generate")
    p.add_argument("--format", choices=FORMATS, default="columnar", help="REST request format")
    p.add_argument("--num", type=int, default=16, help="number of samples")
    p.add_argument("--seed", type=int, default=0, help="noise seed")
    p.add_argument("--labels", default=None, help="comma-separated class ids (conditional GANs)")
    p.add_argument("--latent_dim", type=int, default=None,
                   help="z size for serving_default (default: read from the model metadata)")
    p.add_argument("--noise", choices=("normal", "uniform"), default="normal",
                   help="z distribution drawn here for serving_default (the GAN's `noise`)")
    p.add_argument("--out", default="samples.png", help="PNG grid to write")
    args = p.parse_args(argv)
    if args.signature == "generate" and args.rest and args.format == "row":
        p.error("--signature=generate takes scalar inputs, which TF Serving's row format "
                "cannot carry; use --format=columnar.")
    return args


def _draw_z(num, latent_dim, noise, seed):
    rng = np.random.default_rng(seed)
    if noise == "normal":
        return rng.standard_normal((num, latent_dim)).astype(np.float32)
    return rng.uniform(-math.sqrt(3), math.sqrt(3), (num, latent_dim)).astype(np.float32)


def main(argv=None):
    args = parse_args(argv)
    labels = None if args.labels is None else [int(v) for v in args.labels.split(",")]
    z = None
    if args.signature == "serving_default":
        latent_dim = args.latent_dim
        if latent_dim is None:
            latent_dim = (
                latent_dim_from_metadata(rest_metadata(args.rest, args.model, args.version))
                if args.rest
                else grpc_latent_dim(args.grpc, args.model, args.version)
            )
        z = _draw_z(args.num, latent_dim, args.noise, args.seed)
    if args.rest:
        if args.signature == "generate":
            body = generate_request(args.seed, args.num, labels)
        else:
            body = serving_default_request(z, labels, args.format)
        outputs = rest_predict(args.rest, args.model, body, args.version)
    else:
        inputs = grpc_inputs(args.signature, args.seed, args.num, z, labels)
        outputs = grpc_predict(args.grpc, args.model, args.signature, inputs, args.version)
    images = outputs["images"]
    write_png(to_picture(images), args.out)
    print(f"wrote {args.out}: {len(images)} samples of shape {tuple(np.shape(images)[1:])}")
    return outputs


if __name__ == "__main__":
    try:
        main()
    except ServingError as e:
        sys.exit(f"error: {e}")
