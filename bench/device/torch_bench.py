"""PyTorch eager fp32 twin of the training rows of `npm run bench:device` (bench/device/main.ts).

784-1024-1024-10, ReLU, dropout keep 0.8 on the input and 0.5 after each hidden layer, SGD lr 0.01
momentum 0.9, softmax cross-entropy; inputs uniform in [0, 1), uniform labels, 4 batches cycled, all
resident on the device (PyTorch's usual loop: tensors made once). Rows: B = 128/512/2048, loss read
(`.item()`) every step and every 20 steps. TF32 is off (fp32 matmuls, as dropgpu's). Prints one JSON
line last: {"device", "torch", "train": [{"name", "samples_per_s", ...}]}.
"""
import json
import sys
import time

import torch

quick = "--quick" in sys.argv
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.manual_seed(1234)


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


rows = []
for batch in [128] if quick else [128, 512, 2048]:
    model = torch.nn.Sequential(
        torch.nn.Dropout(0.2),
        torch.nn.Linear(784, 1024),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.5),
        torch.nn.Linear(1024, 1024),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.5),
        torch.nn.Linear(1024, 10),
    ).to(dev)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xs = [torch.rand(batch, 784, device=dev) for _ in range(4)]
    ys = [torch.randint(0, 10, (batch,), device=dev) for _ in range(4)]

    def step(i):
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(xs[i % 4]), ys[i % 4])
        loss.backward()
        opt.step()
        return loss

    for i in range(5):
        step(i).item()
    for every in (1, 20):
        steps = 20 if every == 20 else (10 if not quick else 5)
        best = 0.0
        for _ in range(1 if quick else 3):
            sync()
            start = time.perf_counter()
            for i in range(steps):
                loss = step(i)
                if (i + 1) % every == 0:
                    loss.item()
            sync()
            best = max(best, steps * batch / (time.perf_counter() - start))
        name = f"train B={batch}, loss read every {'step' if every == 1 else '20 steps'}"
        rows.append({"name": name, "samples_per_s": best, "steps": steps})
        print(f"{name}: {best:.0f} samples/s", file=sys.stderr)

info = {"device": str(dev), "torch": torch.__version__, "train": rows}
if dev.type == "cuda":
    info["gpu"] = torch.cuda.get_device_name(0)
print(json.dumps(info))
