"""PG2 stage 1: train G1 (pose integration) with the pose mask L1 loss.

    python train/stage1.py                                          # synthetic people, Market preset
    python train/stage1.py --data ../shared/data/market --hidden 32 --max-steps 500
    python train/stage1.py --preset deepfashion --data data/deepfashion
    python train/stage1.py --resume latest                          # continue the run in --out
    accelerate launch --multi_gpu --num_processes 2 train/stage1.py --data data/market

Table 1 ablations: --pose-encoding coordinates (G1-CE-L1) or gaussian (G1-HME), --loss l1 (G1-L1),
--g1-adversarial (G1+D). Writes <out>/config.yaml, log.jsonl, samples/, checkpoints/ and export/.
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

import common
from pg2_hub import losses


def main(cfg: common.TrainConfig) -> common.Run:
    run = common.Run(cfg, stage=1)
    acc = run.accelerator
    dataset = common.build_dataset(cfg, acc)
    print(f"[rank {acc.process_index}/{acc.num_processes}] stage 1 on {acc.device}: {len(dataset)} pairs from "
          f"{dataset.root}, {cfg.image_height}x{cfg.image_width}, {cfg.batch_size} pairs per process per step", flush=True)

    # ---- models and optimizers
    G1 = common.make_g1(cfg)
    opt_G1 = common.make_adam(G1.parameters(), cfg)
    G1, opt_G1 = acc.prepare(G1, opt_G1)
    D = opt_D = None
    if cfg.g1_adversarial:  # ablation G1+D: the stage-2 adversarial update applied to G1
        D = common.make_discriminator(cfg)
        opt_D = common.make_adam(D.parameters(), cfg)
        D, opt_D = acc.prepare(D, opt_D)
    run.print(f"G1: {sum(p.numel() for p in G1.parameters()):,} parameters")

    start = run.resume()
    loader = common.make_loader(dataset, cfg, acc, start)
    fixed = run.fixed_batch(dataset)
    progress = tqdm(total=cfg.max_steps, initial=start, desc="stage 1", disable=not acc.is_local_main_process)

    for batch in loader:
        I_A, I_B, P_B, M_B = (batch[k].to(acc.device) for k in ("I_A", "I_B", "P_B", "M_B"))
        lr = common.set_lr(cfg, run.step, opt_G1, opt_D)

        # ---- forward: the coarse image
        with acc.autocast():
            fake_B = G1(I_A, P_B)  # (B, 3, H, W)
        if D is None:
            # ---- G1 step: loss_G1_L1 = mean|G1 - I_B| + mean(|G1 - I_B| * M_B)
            with acc.autocast():
                loss_G1_L1 = losses.reconstruction_loss(fake_B, I_B, M_B, cfg.loss)
            run.check_finite(loss_G1_L1=loss_G1_L1)
            opt_G1.zero_grad(set_to_none=True)
            acc.backward(loss_G1_L1)
            opt_G1.step()
        else:
            common.adversarial_update(run, D, opt_D, opt_G1, I_A, I_B, M_B, fake_B, name="G1")

        # ---- bookkeeping
        run.end_step(progress, lr)
        if run.due(cfg.sample_every):
            run.save_samples(fixed, G1)
        if run.due(cfg.save_every):
            run.save_checkpoint()
        if run.done:
            break

    progress.close()
    run.export(G1, dataset_name=cfg.data or "synthetic")
    run.finish(G1)
    return run


if __name__ == "__main__":
    main(common.parse_config(stage=1, argv=sys.argv[1:]))
