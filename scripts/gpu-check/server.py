"""A small GPU-backed OpenAI-compatible server for the GPU check.

It serves /v1/models, /version and streaming /v1/chat/completions. Each
token is one forward step of a randomly initialised transformer on the GPU
(no downloads), so the GPU does real work while bench profile samples it.
Without PyTorch or CUDA, when setting the model up on the GPU fails, or
with GPU_CHECK_CPU=1, it falls back to sleeping, so the check's plumbing
runs anywhere; its "gpu-check server on ..." line on stderr says which
("device=cuda (...)" or "device=none (fallback: why)"), and the check's
summary repeats it.
Loopback only; standard library and PyTorch only.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = os.environ.get("MODEL", "gpu-check-model")
PORT = int(os.environ.get("PORT", "8077"))

LOCK = threading.Lock()
torch, DEVICE, WHY = None, None, ""
if os.environ.get("GPU_CHECK_CPU") == "1":
    WHY = "GPU_CHECK_CPU=1"
else:
    try:
        import torch

        if torch.cuda.is_available():
            DEVICE = "cuda"
        else:
            WHY = "torch %s sees no CUDA device" % torch.__version__
    except Exception as e:  # no torch at all, or a broken one
        torch, WHY = None, "no usable torch: %s" % e

if DEVICE:
    try:
        torch.manual_seed(0)
        D, LAYERS = 2048, 8
        layer = torch.nn.TransformerEncoderLayer(d_model=D, nhead=16, dim_feedforward=4 * D, batch_first=True)
        NET = torch.nn.TransformerEncoder(layer, num_layers=LAYERS, enable_nested_tensor=False).to(DEVICE).half().eval()
        STATE = torch.randn(8, 64, D, device=DEVICE, dtype=torch.half)
        with torch.no_grad():  # warm up (cuBLAS handles, kernels) before serving
            NET(STATE)
            torch.cuda.synchronize()
    except Exception as e:
        DEVICE, WHY = None, "setting the model up on the GPU failed: %r" % e


def step():
    """One decoding step: a forward pass on the GPU, or a short sleep."""
    if not DEVICE:
        time.sleep(0.005)
        return
    with LOCK, torch.no_grad():
        NET(STATE)
        torch.cuda.synchronize()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "gpu-check"}]})
        elif self.path == "/version":
            self.send_json(200, {"version": "gpu-check-" + (torch.__version__ if torch else "no-torch")})
        else:
            self.send_json(404, {"detail": "Not Found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        if self.path != "/v1/chat/completions":
            return self.send_json(404, {"detail": "Not Found"})
        if req.get("model") != MODEL:
            return self.send_json(404, {"error": {"message": "model not found", "type": "NotFoundError", "code": 404}})
        max_tokens = int(req.get("max_tokens") or 16)
        prompt = " ".join(m.get("content", "") for m in req.get("messages", []))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(obj):
            data = ("data: " + (obj if isinstance(obj, str) else json.dumps(obj)) + "\n\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        base = {"id": "chatcmpl-gpu-check", "object": "chat.completion.chunk", "created": int(time.time()), "model": MODEL}
        step()  # prefill
        event(dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]))
        for i in range(max_tokens):
            step()
            fin = "length" if i == max_tokens - 1 else None
            event(dict(base, choices=[{"index": 0, "delta": {"content": "tok%d " % i}, "finish_reason": fin}]))
        if (req.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": max_tokens, "total_tokens": len(prompt.split()) + max_tokens}
            event(dict(base, choices=[], usage=usage))
        event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


if __name__ == "__main__":
    if DEVICE:
        what = "device=cuda (%s, torch %s)" % (torch.cuda.get_device_name(0), torch.__version__)
    else:
        what = "device=none (fallback: sleeping 5 ms per token: %s)" % WHY
    print("gpu-check server on 127.0.0.1:%d, %s, pid %d" % (PORT, what, os.getpid()), file=sys.stderr, flush=True)
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
