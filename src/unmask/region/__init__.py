"""Where the face mask is on a photo: the region finder (`finder.py`: prior, GrabCut, clean-up,
a small segmentation network in `net.py`), its pieces (mask evidence, the face frame, ear loops
and straps, morphology, the upper face put back on the eyes), and the synthetic masks and mask
templates used to train and evaluate it."""

from unmask.region.finder import MaskRegion, find_mask_region, load_user_mask, mask_from_image, not_found_message
from unmask.region.synthetic import MASK_KINDS, render_mask

__all__ = ["MASK_KINDS", "MaskRegion", "find_mask_region", "load_user_mask", "mask_from_image", "not_found_message",
           "render_mask"]
