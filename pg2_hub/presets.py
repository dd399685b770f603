"""Hand-written target poses for the demo, as COCO-18 keypoints in one reference frame.

All presets live in PRESET_SIZE = (256, 176) (height, width: DeepFashion's stored frame), (x, y)
pixels, -1 for a joint that is not visible. Joint order (SPEC section 1): 0 nose, 1 neck,
2-4 right shoulder/elbow/wrist, 5-7 left shoulder/elbow/wrist, 8-10 right hip/knee/ankle,
11-13 left hip/knee/ankle, 14 right eye, 15 left eye, 16 right ear, 17 left ear. "Right" is the
person's right: in a front view it is on the image's left.

    pose = get_preset("standing front")                       # Pose in 256x176
    pose = get_preset("walking", image_size=(512, 512))       # fitted into another frame
"""

from __future__ import annotations

import numpy as np

from .geometry import Letterbox
from .pose import Pose, PoseError

PRESET_SIZE = (256, 176)  # (height, width)

_ = (-1, -1)  # a joint that is not visible

# fmt: off
_STANDING_FRONT = (
    (88, 38),                                   # nose
    (88, 64),                                   # neck
    (60, 66), (54, 106), (50, 144),             # r shoulder, elbow, wrist (image left)
    (116, 66), (122, 106), (126, 144),          # l shoulder, elbow, wrist
    (72, 136), (71, 186), (70, 236),            # r hip, knee, ankle
    (104, 136), (105, 186), (106, 236),         # l hip, knee, ankle
    (82, 32), (94, 32), (75, 36), (101, 36),    # r eye, l eye, r ear, l ear
)

# Seen from behind the person's right side is on the image's right; the face is hidden.
_STANDING_BACK = (
    _,
    (88, 64),
    (116, 66), (122, 106), (126, 144),
    (60, 66), (54, 106), (50, 144),
    (104, 136), (105, 186), (106, 236),
    (72, 136), (71, 186), (70, 236),
    _, _, (101, 38), (75, 38),
)

# Profile facing the image's left: the person's left side faces the camera.
_SIDE_LEFT = (
    (70, 40),
    (90, 64),
    (86, 66), (84, 104), (80, 140),
    (92, 68), (94, 106), (92, 142),
    (86, 136), (84, 186), (86, 236),
    (92, 136), (90, 186), (92, 236),
    _, (76, 33), _, (94, 36),
)

# Mid-stride, facing the image's left: left leg forward, right arm forward.
_WALKING_LEFT = (
    (72, 40),
    (90, 64),
    (86, 66), (76, 102), (64, 132),
    (94, 68), (104, 104), (110, 136),
    (88, 136), (100, 184), (112, 232),
    (92, 136), (76, 182), (62, 230),
    _, (78, 33), _, (96, 36),
)

_WALKING_FRONT = (
    (88, 38),
    (88, 64),
    (60, 66), (52, 104), (56, 140),
    (116, 66), (126, 104), (122, 140),
    (72, 136), (70, 182), (68, 230),
    (104, 136), (110, 184), (112, 226),
    (82, 32), (94, 32), (75, 36), (101, 36),
)

_ARMS_RAISED = (
    (88, 44),
    (88, 70),
    (60, 72), (48, 42), (44, 10),
    (116, 72), (128, 42), (132, 10),
    (72, 142), (71, 190), (70, 238),
    (104, 142), (105, 190), (106, 238),
    (82, 38), (94, 38), (75, 42), (101, 42),
)

_ARMS_OUT = (
    (88, 38),
    (88, 64),
    (60, 66), (34, 68), (8, 70),
    (116, 66), (142, 68), (168, 70),
    (72, 136), (71, 186), (70, 236),
    (104, 136), (105, 186), (106, 236),
    (82, 32), (94, 32), (75, 36), (101, 36),
)

_HANDS_ON_HIPS = (
    (88, 38),
    (88, 64),
    (60, 66), (38, 100), (66, 132),
    (116, 66), (138, 100), (110, 132),
    (72, 136), (70, 186), (66, 236),
    (104, 136), (106, 186), (110, 236),
    (82, 32), (94, 32), (75, 36), (101, 36),
)

_WAVING = (
    (88, 38),
    (88, 64),
    (60, 66), (38, 58), (34, 22),
    (116, 66), (122, 106), (126, 144),
    (72, 136), (71, 186), (70, 236),
    (104, 136), (105, 186), (106, 236),
    (82, 32), (94, 32), (75, 36), (101, 36),
)

_WIDE_STANCE = (
    (88, 40),
    (88, 66),
    (60, 68), (50, 106), (44, 142),
    (116, 68), (126, 106), (132, 142),
    (72, 138), (56, 186), (40, 234),
    (104, 138), (120, 186), (136, 234),
    (82, 34), (94, 34), (75, 38), (101, 38),
)
# fmt: on


def _mirrored(keypoints) -> np.ndarray:
    """The same pose seen in a mirror (left and right joints swapped)."""
    return Pose.from_array(keypoints, image_size=PRESET_SIZE).hflip().to_array()


PRESETS: dict[str, np.ndarray] = {
    "standing front": np.asarray(_STANDING_FRONT, dtype=np.float32),
    "standing back": np.asarray(_STANDING_BACK, dtype=np.float32),
    "side (facing left)": np.asarray(_SIDE_LEFT, dtype=np.float32),
    "side (facing right)": _mirrored(_SIDE_LEFT),
    "walking (front)": np.asarray(_WALKING_FRONT, dtype=np.float32),
    "walking (facing left)": np.asarray(_WALKING_LEFT, dtype=np.float32),
    "walking (facing right)": _mirrored(_WALKING_LEFT),
    "arms raised": np.asarray(_ARMS_RAISED, dtype=np.float32),
    "arms out": np.asarray(_ARMS_OUT, dtype=np.float32),
    "hands on hips": np.asarray(_HANDS_ON_HIPS, dtype=np.float32),
    "waving": np.asarray(_WAVING, dtype=np.float32),
    "wide stance": np.asarray(_WIDE_STANCE, dtype=np.float32),
}


def preset_names() -> list[str]:
    """Names of all presets, in display order."""
    return list(PRESETS)


def get_preset(name: str, image_size: tuple[int, int] | None = None) -> Pose:
    """A preset pose by name.

    Args:
        name: one of `preset_names()` (case-insensitive).
        image_size: (height, width) frame to fit the pose into, keeping its aspect ratio and centring
            it (the pipeline's letterbox rule: a 256x256 frame gets 40 px each side); default
            PRESET_SIZE.

    Raises:
        PoseError: unknown name; the message lists the known ones.
    """
    key = name.strip().lower()
    if key not in PRESETS:
        raise PoseError(f"Unknown preset pose {name!r}; choose one of: {', '.join(PRESETS)}.")
    pose = Pose.from_array(PRESETS[key], image_size=PRESET_SIZE)
    if image_size is None or tuple(image_size) == PRESET_SIZE:
        return pose
    return Letterbox(PRESET_SIZE, (int(image_size[0]), int(image_size[1]))).pose(pose)
