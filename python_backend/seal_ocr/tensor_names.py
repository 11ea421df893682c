"""Model and tensor names of the deployment: the one place they are spelled.

Configs (``model_repository/*/config.pbtxt``), the Python steps, the client and the tests all
use these; ``tests/unit/test_configs.py`` checks the configs against them.
"""

# --- public entry point -------------------------------------------------------------------
ENSEMBLE = "seal_recognition"
IMAGE = "IMAGE"  # TYPE_STRING [1]: bytes of one encoded image file
OPTIONS = "OPTIONS"  # TYPE_STRING [1], optional: UTF-8 JSON object of PaddleX predict options
RESULT_JSON = "RESULT_JSON"  # TYPE_STRING [1]: UTF-8 JSON result (schemas/result.schema.json)

# --- PaddleX's high-performance serving (HPS) protocol: model_repository/seal-recognition ---
# Clients of PaddleX's HPS SDK send shape [1, 1] (max_batch_size >= 1, dims [1]); a thin Python
# model that parses the request, splits PDFs and calls ENSEMBLE once per page (BLS)
HPS_MODEL = "seal-recognition"
HPS_INPUT = "input"  # TYPE_STRING [1]: the request JSON of POST /seal-recognition, UTF-8
HPS_OUTPUT = "output"  # TYPE_STRING [1]: the response JSON {logId, errorCode, errorMsg, result}

# --- Python steps, in ensemble order ---------------------------------------------------------
DECODE_PAGE = "decode_page"
FIND_SEALS = "find_seals"
DETECT_TEXT_LINES = "detect_text_lines"
READ_TEXT_LINES = "read_text_lines"
BUILD_RESULT = "build_result"
PYTHON_STEPS = (DECODE_PAGE, FIND_SEALS, DETECT_TEXT_LINES, READ_TEXT_LINES, BUILD_RESULT)

# --- tensors between steps -------------------------------------------------------------------
PAGE = "PAGE"  # UINT8 [H, W, 3] BGR page
PIPELINE_OPTIONS = "PIPELINE_OPTIONS"  # TYPE_STRING [1]: validated options with defaults filled
LAYOUT_JSON = "LAYOUT_JSON"  # TYPE_STRING [1]: all layout boxes as JSON list, or "null" (no layout)
SEAL_BOXES = "SEAL_BOXES"  # FP64 [S, 4]: x1, y1, x2, y2 page pixels of each seal region
POLY_POINTS = "POLY_POINTS"  # INT32 [P, 2]: vertices of all text polygons, seal-crop pixels
POLY_LENGTHS = "POLY_LENGTHS"  # INT32 [L]: vertices per polygon
POLY_SEAL_INDEX = "POLY_SEAL_INDEX"  # INT32 [L]: seal (row of SEAL_BOXES) of each polygon
LINE_TEXTS = "LINE_TEXTS"  # TYPE_STRING [L]: recognised text of each polygon (UTF-8)
LINE_SCORES = "LINE_SCORES"  # FP32 [L]: CTC score of each polygon
# INT32 [L]: PaddleX textline_orientation_angles of each polygon: -1 with the step off,
# else 0 (read as is) or 1 (turned by 180 degrees before reading)
LINE_ANGLES = "LINE_ANGLES"
# TYPE_STRING [1]: the request's admission lease (seal_triton.admission), "" when there is no cap;
# every step after decode_page gets it so that whichever step fails the request gives it back
ADMISSION_TICKET = "ADMISSION_TICKET"
# INT32 [1]: the page's angle in degrees (0/90/180/270) when use_doc_orientation_classify turned
# it (seal_ocr.doc_ori), -1 with the option off; decode_page -> build_result
DOC_ANGLE = "DOC_ANGLE"

# --- ONNX model entries and their tensors ----------------------------------------------------
LAYOUT_MODEL = "layout"
LAYOUT_IMAGE = "image"  # FP32 [N, 3, 800, 608] RGB, ImageNet-normalised
LAYOUT_SCALE_FACTOR = "scale_factor"  # FP32 [N, 2]: (800 / page_h, 608 / page_w)
# FP32 [N, LAYOUT_MAX_BOXES, 6]: per image its rows (cls, score, x1, y1, x2, y2), page pixels,
# in the export's order (score-descending), then zero rows; fixed shape, so batches split on axis 0
LAYOUT_BOXES = "boxes"
LAYOUT_BOX_COUNT = "box_count"  # INT32 [N]: rows of LAYOUT_BOXES[n] that hold detections
# rows per image in LAYOUT_BOXES: at least what any supported export keeps per image (PicoDet
# keep_top_k 100, RT-DETR 300 queries, the stand-in's NMS 100 per class x 10 classes), so no
# page is cut (tools/models/layout_contract.py)
LAYOUT_MAX_BOXES = 1000

SEAL_DET_MODEL = "seal_det"
SEAL_DET_IMAGE = "images"  # FP32 [N, 3, H, W] BGR crop, ImageNet-normalised, H, W % 32 == 0
SEAL_DET_PROB = "text_probs"  # FP32 [N, 1, H, W] text probability map

TEXT_REC_MODEL = "text_rec"
TEXT_REC_IMAGE = "line_images"  # FP32 [N, 3, 48, W] BGR line, (x / 255 - 0.5) / 0.5
TEXT_REC_PROB = "char_probs"  # FP32 [N, W / 8, 6625] softmax over blank + characters + space
ONNX_MODELS = (LAYOUT_MODEL, SEAL_DET_MODEL, TEXT_REC_MODEL)  # the entries the steps call

# text-line orientation (option use_textline_orientation): 0 or 180 degrees per line image
TEXTLINE_ORI_MODEL = "textline_ori"
# FP32 [N, 3, H, W]: line image as TEXTLINE_ORI_INFO_FILE says (size, channels, normalisation)
TEXTLINE_ORI_IMAGE = "line_images"
TEXTLINE_ORI_PROB = "orientation_probs"  # FP32 [N, C]: class scores (softmax), C = labels

# page orientation (option use_doc_orientation_classify): 0/90/180/270 degrees per page
DOC_ORI_MODEL = "doc_ori"
DOC_ORI_IMAGE = "page_images"  # FP32 [N, 3, 224, 224] RGB centre crop, doc_ori_info.json's recipe
DOC_ORI_PROB = "orientation_probs"  # FP32 [N, C]: class scores, C = the info file's labels
# page unwarping (option use_doc_unwarping): UVDoc resamples the page at its own size
UVDOC_MODEL = "uvdoc"
UVDOC_IMAGE = "pages"  # FP32 [N, 3, H, W]: BGR page / 255
UVDOC_OUTPUT = "unwarped_pages"  # FP32 [N, 3, H, W]: the unwarped page / 255, BGR
# the entries a step calls only when a request option asks for them
OPTION_ONNX_MODELS = (TEXTLINE_ORI_MODEL, DOC_ORI_MODEL, UVDOC_MODEL)

# --- model-entry asset files (written by `make models`) --------------------------------------
LAYOUT_INFO_FILE = "layout/layout_info.json"  # {"labels": [...], "seal_label": ..., ...}
CHARACTERS_FILE = "text_rec/characters.txt"  # one dictionary character per line
# seal_ocr.textline_ori.TextlineOriInfo: input size, resize, channels, labels, turn rule
TEXTLINE_ORI_INFO_FILE = "textline_ori/textline_ori_info.json"
# seal_ocr.doc_ori.DocOriInfo: the classifier's input recipe, labels, and whether a model is there
DOC_ORI_INFO_FILE = "doc_ori/doc_ori_info.json"
UVDOC_INFO_FILE = "uvdoc/uvdoc_info.json"  # seal_ocr.uvdoc.UVDocInfo: is a model there
# which model each entry holds (seal_ocr.model_info.ModelRecord per entry; the server's start
# message prints it): official name, local path or stand-in, written by every `make models`
MODELS_FILE = "models.json"
