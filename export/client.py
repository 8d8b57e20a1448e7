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

Every failure (unreachable server, HTTP error, a reply over `MAX_RESPONSE_BYTES`, a reply that is
not JSON or not a predict response, an `images` output that is missing, not numeric or not finite)
raises `ServingError` with the server's message or an excerpt of its reply; the CLI prints it on
one line.

The REST path needs only numpy and Pillow; gRPC needs `grpcio`, `tensorflow-serving-api` and
TensorFlow (for the TensorProto conversions).
"""

import argparse
import base64
import http.client
import json
import math
import sys
import urllib.error
import urllib.request

import numpy as np

SIGNATURES = ("generate", "serving_default")
FORMATS = ("columnar", "row")


class ServingError(RuntimeError):
    """The server answered with an error, or with something that is not a valid answer, or could
    not be reached. The message keeps what the server said (its error, or an excerpt of its
    reply)."""


# Replies larger than this are refused (REST: read at most this many bytes; gRPC: the channel's
# receive limit). A 1024 x 64 x 64 x 3 float answer is about 100 MB of JSON.
MAX_RESPONSE_BYTES = 256 * 1024 * 1024
_EXCERPT = 300  # characters of a reply quoted in an error message
# What malformed JSON content raises while it is taken apart (binascii.Error is a ValueError).
_MALFORMED = (KeyError, IndexError, TypeError, ValueError, AttributeError, RecursionError)


def _excerpt(data):
    """The start of a reply (bytes or str), on one line, for an error message."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    text = " ".join(str(data).split())
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "..."


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
            # validate=True: a corrupt payload is an error, not silently dropped characters.
            return base64.b64decode(value["b64"], validate=True)
        raise ServingError(f"Unexpected JSON object in a tensor: {sorted(value)}")
    if isinstance(value, list) and value and _contains_bytes(value):
        return [_decode(v) for v in value]
    array = np.asarray(value, np.float32) if _is_float(value) else np.asarray(value)
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise ServingError(f"Not a numeric tensor: {_excerpt(_safe_repr(value))}")
    return array


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

    Raises:
      ServingError: the response is an error (its message), or not a valid predict response (an
        excerpt of it).
    """
    if not isinstance(body, dict):
        raise ServingError(f"Not a predict response (not a JSON object): {_excerpt(repr(body))}")
    if "error" in body:
        raise ServingError(_excerpt(body["error"]))
    try:
        return _parse_outputs(body, single_output)
    except ServingError as e:
        raise ServingError(f"{e} in the response {_excerpt(_safe_repr(body))}") from None
    except _MALFORMED as e:
        raise ServingError(
            f"Malformed predict response ({type(e).__name__}: {_excerpt(e)}): "
            f"{_excerpt(_safe_repr(body))}"
        ) from None


def _safe_repr(value):
    try:
        return json.dumps(value)[: 4 * _EXCERPT]
    except (ValueError, RecursionError):
        return "<unprintable>"


def _parse_outputs(body, single_output):
    if "predictions" in body:  # row format: one entry per batch item
        rows = body["predictions"]
        if not isinstance(rows, list):
            raise ServingError(f"'predictions' is not a list: {_excerpt(_safe_repr(body))}")
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


def _read_capped(response, url, max_bytes):
    """At most `max_bytes` of a response body; ServingError if the server sends more."""
    length = response.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise ServingError(
            f"Response from {url} is larger than max_response_bytes={max_bytes} "
            f"(Content-Length {length})."
        )
    data = response.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ServingError(f"Response from {url} is larger than max_response_bytes={max_bytes}.")
    if length is not None and length.isdigit() and len(data) < int(length):
        raise ServingError(
            f"Response from {url} is truncated ({len(data)} of {length} bytes): {_excerpt(data)}"
        )
    return data


def _http_json(url, body=None, timeout=60, max_bytes=MAX_RESPONSE_BYTES):
    """The JSON reply of a GET (body None) or POST; every failure is a ServingError."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = _read_capped(response, url, max_bytes)
    except urllib.error.HTTPError as e:
        # TF Serving reports errors as {"error": ...} with a 4xx/5xx status.
        try:
            payload = _read_capped(e, url, max_bytes)
        except (OSError, http.client.HTTPException):
            payload = b""
        finally:
            e.close()
        raise ServingError(f"HTTP {e.code} from {url}: {_error_message(payload)}") from None
    except (OSError, http.client.HTTPException) as e:  # URLError, timeouts, resets, short reads
        reason = getattr(e, "reason", None) or e
        raise ServingError(f"No valid answer from {url}: {type(e).__name__}: {reason}") from None
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError
        raise ServingError(
            f"Response from {url} is not JSON ({type(e).__name__}): {_excerpt(payload)}"
        ) from None


def _error_message(payload):
    """The server's message from an error reply: its JSON `error` field, else the reply's text."""
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):
        return _excerpt(payload)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return _excerpt(body["error"])
    return _excerpt(payload)


def rest_predict(
    base_url,
    model,
    body,
    version=None,
    single_output="images",
    timeout=60,
    max_response_bytes=MAX_RESPONSE_BYTES,
):
    """POSTs a :predict body and returns the parsed outputs.

    Raises:
      ServingError: for every failure (unreachable server, HTTP error, a reply larger than
        `max_response_bytes`, not JSON, not a valid predict response), with the server's message
        or an excerpt of its reply.
    """
    url = rest_url(base_url, model, version)
    response = _http_json(url, body, timeout, max_response_bytes)
    try:
        return parse_rest_response(response, single_output)
    except ServingError as e:
        raise ServingError(f"{url}: {e}") from None


def rest_metadata(base_url, model, version=None, timeout=30, max_response_bytes=MAX_RESPONSE_BYTES):
    """GET /v1/models/NAME[/versions/V]/metadata (a JSON GetModelMetadataResponse)."""
    return _http_json(rest_url(base_url, model, version, verb=None), None, timeout, max_response_bytes)


def latent_dim_from_metadata(metadata):
    """latent_dim from a metadata JSON response: the last dimension of serving_default's `z`."""
    try:
        sigs = metadata["metadata"]["signature_def"]["signature_def"]
        dims = sigs["serving_default"]["inputs"]["z"]["tensor_shape"]["dim"]
        latent_dim = int(dims[-1]["size"])  # int64 fields are strings in proto3 JSON
    except _MALFORMED as e:
        raise ServingError(
            f"No serving_default input z in the model metadata ({type(e).__name__}: "
            f"{_excerpt(e)}): {_excerpt(_safe_repr(metadata))}"
        ) from None
    if latent_dim < 1:
        raise ServingError(f"The model metadata gives z a latent size of {latent_dim}.")
    return latent_dim


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
        try:
            value = tf.make_ndarray(proto)
        except _MALFORMED as e:
            raise ServingError(f"Malformed tensor {name!r} in the gRPC response: {e}") from None
        out[name] = list(value) if value.dtype == object else value
    return out


def grpc_predict(address, model, signature, inputs, version=None, timeout=60):
    """Calls PredictionService.Predict at `address` (host:port) and returns the parsed outputs."""
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    request = make_predict_request(model, signature, inputs, version)
    options = [("grpc.max_receive_message_length", MAX_RESPONSE_BYTES)]
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
    options = [("grpc.max_receive_message_length", MAX_RESPONSE_BYTES)]
    with grpc.insecure_channel(address, options=options) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            response = stub.GetModelMetadata(request, timeout=timeout)
        except grpc.RpcError as e:
            raise ServingError(f"gRPC {e.code().name} from {address}: {e.details()}") from None
    sig_map = get_model_metadata_pb2.SignatureDefMap()
    if not response.metadata["signature_def"].Unpack(sig_map):
        raise ServingError(f"{address}: the model metadata holds no SignatureDefMap.")
    z = sig_map.signature_def["serving_default"].inputs.get("z")
    if z is None or not z.tensor_shape.dim or z.tensor_shape.dim[-1].size < 1:
        raise ServingError(f"{address}: no serving_default input z [batch, latent_dim] in the "
                           f"model metadata ({sorted(sig_map.signature_def)}).")
    return z.tensor_shape.dim[-1].size


# ------------------------------------------------------------------------------------ images
def _check_finite(array, what):
    bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
    if bad:
        raise ValueError(f"{what} must be finite; {bad} of {np.size(array)} values are NaN or Inf.")


def image_grid(images, cols=None, pad=1):
    """[N, H, W, C] floats in [0, 1] -> one uint8 image [rows*(H+pad)-pad, cols*(W+pad)-pad, C]."""
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must be [N, H, W, C]. Received shape {images.shape}")
    _check_finite(images, "images")
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
    _check_finite(points, "points")
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


def checked_images(outputs):
    """The `images` output as a float32 array [N, H, W, C] or [N, 2], or ServingError saying why
    not (missing, not numbers, another shape, NaN/Inf: a server must never be plotted silently)."""
    if "images" not in outputs:
        raise ServingError(f"The response has no 'images' output; it has {sorted(outputs)}.")
    try:
        images = np.asarray(outputs["images"], np.float32)
    except (TypeError, ValueError) as e:
        raise ServingError(f"The 'images' output is not an array of numbers: {_excerpt(e)}") from None
    if images.ndim not in (2, 4) or (images.ndim == 2 and images.shape[1] != 2):
        raise ServingError(
            f"The 'images' output has shape {images.shape}; expected [N, H, W, C] images or "
            "[N, 2] points."
        )
    try:
        _check_finite(images, "The 'images' output")
    except ValueError as e:
        raise ServingError(str(e)) from None
    return images


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
    images = checked_images(outputs)
    write_png(to_picture(images), args.out)
    print(f"wrote {args.out}: {len(images)} samples of shape {tuple(np.shape(images)[1:])}")
    return outputs


if __name__ == "__main__":
    try:
        main()
    except ServingError as e:
        sys.exit(f"error: {e}")
