"""The text material of the synthetic seals and pages, and the random strings made from it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Company names: a city, name characters, a suffix.
CITIES = (
    "北京", "上海", "广州", "深圳", "天津", "重庆", "杭州", "南京", "成都", "武汉",
    "西安", "苏州", "长沙", "郑州", "青岛", "大连", "厦门", "宁波", "合肥", "济南",
)  # fmt: skip
SUFFIXES = (
    "公司", "中心", "有限公司", "服务中心", "科技有限公司", "贸易有限公司", "实业有限公司",
    "商务服务中心", "发展集团有限公司", "集团股份有限公司", "建设工程有限公司",
    "信息技术有限公司", "物流有限公司", "商贸有限公司", "文化传媒有限公司", "管理咨询有限公司",
    "科技发展有限公司", "国际贸易有限公司",
)  # fmt: skip
# Middle of company names: common, clearly printed characters.
NAME_CHARS = (
    "中兴盛鑫源恒泰宏达顺通安康明光华丰荣昌隆瑞祥新东南国际天海金联创博远正信和嘉"
    "科技贸易发展集团实业商务服务电子机械工程建设材料食品农业化工医药环境能源物流运输"
    "文化传媒教育咨询管理投资置业开发设计装饰印刷包装汽车销售进出口"
)
CENTRE_TEXTS = (
    "合同专用章", "发票专用章", "财务专用章", "公章", "现金收讫章", "业务专用章",
    "人事专用章", "检验专用章", "行政章", "现金付讫章", "结算专用章", "技术专用章",
    "质量检验章", "报关专用章", "办公室章",
)  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁"
GIVEN_CHARS = "明华建国文军平志伟东海英敏静丽强磊洋勇艳杰娟涛超秀霞刚桂兰芳"
# Body text of the document pages.
BODY_CHARS = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工"
    "也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小"
    "物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形"
    "相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建"
    "月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长"
    "求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战"
    "先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受"
    "联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议"
)
TITLES = (
    "合同书", "购销合同", "证明", "通知", "委托书", "收款收据", "协议书", "付款申请单",
    "验收报告", "授权委托书", "发货单", "报价单",
)  # fmt: skip
SIGN_LINES = ("甲方（盖章）：", "乙方（盖章）：", "单位（盖章）：", "经办人：", "负责人签字：")


def pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(0, len(items)))]


def random_chars(rng: np.random.Generator, pool: str, n: int) -> str:
    return "".join(pool[int(k)] for k in rng.integers(0, len(pool), size=n))


def company_name(rng: np.random.Generator, length: int) -> str:
    """A company-name-like string of exactly ``length`` (4-20) characters."""
    city = pick(rng, CITIES) if length >= 6 and rng.integers(0, 4) else ""
    room = length - len(city) - 2  # at least two name characters
    suffix = pick(rng, [s for s in SUFFIXES if len(s) <= room])
    middle = random_chars(rng, NAME_CHARS, length - len(city) - len(suffix))
    return city + middle + suffix


def digit_string(rng: np.random.Generator) -> str:
    n = int(rng.integers(10, 16))
    return str(int(rng.integers(1, 10))) + random_chars(rng, "0123456789", n - 1)


def square_text(rng: np.random.Generator, grid: int) -> str:
    if grid == 2:
        if rng.integers(0, 2):
            return pick(rng, SURNAMES) + pick(rng, GIVEN_CHARS) + "之印"
        return random_chars(rng, NAME_CHARS, 3) + "印"
    if rng.integers(0, 2):
        return pick(rng, CITIES) + random_chars(rng, NAME_CHARS, 4) + "专用章"
    return random_chars(rng, NAME_CHARS, 7) + "之印"


def body_text(rng: np.random.Generator, n: int) -> str:
    picks = rng.integers(0, len(BODY_CHARS), size=n)
    chars = [BODY_CHARS[int(k)] for k in picks]
    for pos in range(int(rng.integers(6, 14)), n - 1, int(rng.integers(7, 15))):
        chars[pos] = "，"
    if n > 3 and rng.integers(0, 3) == 0:
        chars[-1] = "。"
    return "".join(chars)
