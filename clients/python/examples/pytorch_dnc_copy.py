"""Train pytorch-dnc's DNC on the copy task and stream it into Engram: loss and bit error as curves, the memory,
link matrix, weightings and usage of every timestep as a frame, pause/step/stop and lr from the browser.

Needs PyTorch and pytorch-dnc (``pip install dnc``, or its source on PYTHONPATH); the client itself needs only numpy.

    npm run dev                                   # an Engram server on http://127.0.0.1:3000
    python3 clients/python/examples/pytorch_dnc_copy.py --url http://127.0.0.1:3000 --iterations 2000
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import engram  # noqa: E402
from dnc import DNC  # noqa: E402


def copy_batch(batch, length, width):
    """Input: a random bit sequence, then a delimiter; target: the same sequence after the delimiter."""
    bits = np.random.binomial(1, 0.5, (batch, length, width - 1)).astype(np.float32)
    x = np.zeros((batch, 2 * length + 1, width), dtype=np.float32)
    y = np.zeros_like(x)
    x[:, :length, : width - 1] = bits
    x[:, length, width - 1] = 1
    y[:, length + 1 :, : width - 1] = bits
    return torch.from_numpy(x), torch.from_numpy(y)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:3000")
    parser.add_argument("--token", default=None)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--frame-every", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()

    config = dict(task="copy", nhid=64, nr_cells=16, cell_size=16, read_heads=2, batch_size=8, length=4, lr=args.lr)
    model = DNC(
        input_size=6,
        hidden_size=config["nhid"],
        nr_cells=config["nr_cells"],
        cell_size=config["cell_size"],
        read_heads=config["read_heads"],
        batch_first=True,
        debug=True,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    run = engram.Run(args.url, name="pytorch-dnc copy", config=config, token=args.token)
    print(f"streaming into {args.url}/runs/{run.id}")
    lr = args.lr
    for iteration in range(1, args.iterations + 1):
        if not run.wait():  # blocks while paused in the browser; False once stopped
            break
        if run.lr is not None and run.lr != lr:
            lr = run.lr
            for group in optimizer.param_groups:
                group["lr"] = lr
        x, y = copy_batch(config["batch_size"], config["length"], 6)
        optimizer.zero_grad()
        output, _, debug = model(x, (None, None, None), reset_experience=True, pass_through_memory=True)
        if output.shape != y.shape:  # some pytorch-dnc versions return [time, batch, …] even when batch_first
            output = output.transpose(0, 1)
        loss = F.binary_cross_entropy_with_logits(output, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10)
        optimizer.step()
        bit_error = (torch.sigmoid(output).round() != y).float().mean().item()
        run.log(iteration, loss=loss.item(), bit_error=bit_error)
        if iteration % args.frame_every == 0:
            run.frame(iteration, engram.from_pytorch_dnc(debug))
    run.close()


if __name__ == "__main__":
    main()
