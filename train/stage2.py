"""PG2 stage 2: train G2 (refinement) and D against a trained, frozen G1.

    python train/stage2.py                                       # G1 from runs/market/stage1
    python train/stage2.py --g1 runs/market/stage1/export --data ../shared/data/market
    python train/stage2.py --preset deepfashion --g1 runs/deepfashion/stage1 --data data/deepfashion
    python train/stage2.py --discriminator pair                  # the paper's (I_A, image) pair D
    python train/stage2.py --resume latest
    accelerate launch --multi_gpu --num_processes 2 train/stage2.py --g1 ... --data ...

Each step: G1 output (no gradient) -> refined image fake_B = G1 + G2(G1, I_A) -> D step on the
detached fake_B -> G2 step on loss_G2 = loss_G2_adv + lambda * pose-mask L1. The export holds G1
and G2 together (PG2.from_pretrained).
"""

from __future__ import annotations

import sys

import torch
from tqdm.auto import tqdm

import common


def main(cfg: common.TrainConfig) -> common.Run:
    if cfg.pose_encoding == "coordinates":
        raise SystemExit("stage 2 needs a G1 on pose maps; the coordinates encoding is a G1-only ablation (Table 1)")
    run = common.Run(cfg, stage=2)
    acc = run.accelerator

    # ---- the frozen G1; its geometry and pose encoding fix the data's
    G1, trained = common.load_g1(cfg.g1)
    config_says = dict(pose_encoding=cfg.pose_encoding, pose_radius=cfg.pose_radius, pose_sigma=float(cfg.pose_sigma),
                       image_size=(cfg.image_height, cfg.image_width))
    if {k: trained[k] for k in config_says} != config_says:
        raise SystemExit(f"G1 at {cfg.g1} was trained with {trained}, but this config says {config_says}: "
                         "use the same --preset / --image-height / --image-width / --pose-* as stage 1")
    G1 = G1.to(acc.device).requires_grad_(False)

    dataset = common.build_dataset(cfg, acc)
    print(f"[rank {acc.process_index}/{acc.num_processes}] stage 2 on {acc.device}: {len(dataset)} pairs from "
          f"{dataset.root}, {cfg.image_height}x{cfg.image_width}, {cfg.batch_size} pairs per process per step", flush=True)

    # ---- models and optimizers
    G2 = common.make_g2(cfg)
    D = common.make_discriminator(cfg)
    opt_G2, opt_D = common.make_adam(G2.parameters(), cfg), common.make_adam(D.parameters(), cfg)
    G2, D, opt_G2, opt_D = acc.prepare(G2, D, opt_G2, opt_D)
    run.print(f"G1 (frozen): {sum(p.numel() for p in G1.parameters()):,}, G2: {sum(p.numel() for p in G2.parameters()):,}, "
              f"D: {sum(p.numel() for p in D.parameters()):,} parameters")

    start = run.resume()
    loader = common.make_loader(dataset, cfg, acc, start)
    fixed = run.fixed_batch(dataset)
    progress = tqdm(total=cfg.max_steps, initial=start, desc="stage 2", disable=not acc.is_local_main_process)

    for batch in loader:
        I_A, I_B, P_B, M_B = (batch[k].to(acc.device) for k in ("I_A", "I_B", "P_B", "M_B"))
        lr = common.set_lr(cfg, run.step, opt_G2, opt_D)

        # ---- forward: coarse image from the frozen G1, then G2's difference map on top
        with acc.autocast():
            with torch.no_grad():
                G1_out = G1(I_A, P_B)  # (B, 3, H, W)
            fake_B = G1_out + G2(G1_out, I_A)  # (B, 3, H, W)

        # ---- D step on the detached fake_B, then the G2 step
        common.adversarial_update(run, D, opt_D, opt_G2, I_A, I_B, M_B, fake_B, name="G2")

        # ---- bookkeeping
        run.end_step(progress, lr)
        if run.due(cfg.sample_every):
            run.save_samples(fixed, G1, G2)
        if run.due(cfg.save_every):
            run.save_checkpoint()
        if run.done:
            break

    progress.close()
    run.export(G1, G2, dataset_name=cfg.data or "synthetic")
    run.finish(G2)
    return run


if __name__ == "__main__":
    main(common.parse_config(stage=2, argv=sys.argv[1:]))
