"""Tiny PaddleX-shaped inference archives for testing the official path offline.

Runs in ``.cache/venv-official`` (needs PaddlePaddle and PyYAML; no project imports). Each
archive is ``<name>_infer.tar`` holding ``<name>_infer/{inference.json, inference.pdiparams,
inference.yml}`` as PaddleX publishes them, from ``paddle.jit.save`` of a network with the real
model's input/output signature (random weights, a few kB):

- layout, RT-DETR form: ``im_shape``, ``image`` [N,3,H,W], ``scale_factor`` -> boxes [K,6]
  (one ``seal`` box per image covering the page) and box counts [N] int32; its yml asks for
  plain ``/255`` normalisation (no mean/std), like RT-DETR's;
- seal det: ``x`` [N,3,H,W] -> sigmoid map [N,1,H,W];
- rec: ``x`` [N,3,48,W] -> softmax [N,W/8,6625], with a 6623-character dictionary in the yml.

    .cache/venv-official/bin/python tools/models/tiny_paddle_models.py OUT_DIR
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import tempfile
from pathlib import Path

LAYOUT_NAME = "RT-DETR-H_layout_3cls"
DET_NAME = "PP-OCRv4_mobile_seal_det"
REC_NAME = "PP-OCRv4_mobile_rec"
LAYOUT_HW = (64, 64)
DICTIONARY = [chr(0x4E00 + i) for i in range(6623)]  # as many as ppocr_keys_v1
IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def _networks():
    import paddle

    class Layout(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.conv = paddle.nn.Conv2D(3, 1, 3, padding=1)

        def forward(self, im_shape, image, scale_factor):
            score = paddle.nn.functional.sigmoid(self.conv(image).mean(axis=[1, 2, 3]))
            page_hw = im_shape / scale_factor  # (h, w) of the page
            zeros = paddle.zeros_like(score)
            boxes = paddle.stack(
                [zeros + 2.0, score, zeros, zeros, page_hw[:, 1], page_hw[:, 0]], axis=1
            )
            counts = paddle.ones_like(score).astype("int32")
            return boxes, counts

    class Det(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.conv = paddle.nn.Conv2D(3, 1, 3, padding=1)

        def forward(self, x):
            return paddle.nn.functional.sigmoid(self.conv(x))

    class Rec(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.fc = paddle.nn.Linear(3, len(DICTIONARY) + 2)

        def forward(self, x):
            pooled = paddle.nn.functional.avg_pool2d(x, kernel_size=(48, 8), stride=(48, 8))
            steps = pooled.squeeze(2).transpose([0, 2, 1])  # [N, W/8, 3]
            return paddle.nn.functional.softmax(self.fc(steps), axis=-1)

    spec = paddle.static.InputSpec
    return {
        LAYOUT_NAME: (
            Layout(),
            [
                spec([None, 2], "float32", "im_shape"),
                spec([None, 3, *LAYOUT_HW], "float32", "image"),
                spec([None, 2], "float32", "scale_factor"),
            ],
        ),
        DET_NAME: (Det(), [spec([None, 3, None, None], "float32", "x")]),
        REC_NAME: (Rec(), [spec([None, 3, 48, None], "float32", "x")]),
    }


def _configs() -> dict[str, dict]:
    return {
        LAYOUT_NAME: {
            "Global": {"model_name": LAYOUT_NAME},
            "Preprocess": [
                {"type": "Resize", "target_size": list(LAYOUT_HW), "keep_ratio": False,
                 "interp": 2},
                {"type": "NormalizeImage", "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0],
                 "is_scale": True, "norm_type": "none"},
                {"type": "Permute"},
            ],
            "label_list": ["image", "table", "seal"],
            "arch": "DETR",
            "draw_threshold": 0.5,
        },
        DET_NAME: {
            "Global": {"model_name": DET_NAME},
            "PreProcess": {"transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"DetResizeForTest": {"resize_long": 736}},
                {"NormalizeImage": {**IMAGENET, "scale": "1./255.", "order": "hwc"}},
                {"ToCHWImage": None},
                {"KeepKeys": {"keep_keys": ["image", "shape"]}},
            ]},
            "PostProcess": {"name": "DBPostProcess", "thresh": 0.2, "box_thresh": 0.6,
                            "max_candidates": 1000, "unclip_ratio": 0.5, "box_type": "poly"},
        },
        REC_NAME: {
            "Global": {"model_name": REC_NAME},
            "PreProcess": {"transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"RecResizeImg": {"image_shape": [3, 48, 320]}},
                {"KeepKeys": {"keep_keys": ["image"]}},
            ]},
            "PostProcess": {"name": "CTCLabelDecode", "character_dict": DICTIONARY},
        },
    }  # fmt: skip


def build(out_dir: Path) -> list[Path]:
    import paddle
    import yaml

    paddle.seed(0)
    out_dir.mkdir(parents=True, exist_ok=True)
    configs = _configs()
    archives = []
    for name, (network, input_spec) in _networks().items():
        network.eval()
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = Path(tmp) / f"{name}_infer"
            paddle.jit.save(network, str(model_dir / "inference"), input_spec=input_spec)
            (model_dir / "inference.yml").write_text(
                yaml.safe_dump(configs[name], allow_unicode=True, sort_keys=False), "utf-8"
            )
            archive = out_dir / f"{name}_infer.tar"
            with tarfile.open(archive, "w") as tar:
                for file in sorted(model_dir.iterdir()):
                    if file.name.startswith("inference."):
                        tar.add(file, arcname=f"{name}_infer/{file.name}")
        archives.append(archive)
    return archives


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    for archive in build(args.out_dir):
        print(archive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
