"""Value lists of the 2017 catalogue-compilation guide (政务信息资源目录编制指南（试行）) and
GB/T 21063.3, each as code -> (中文, English). Codes are what the API and the database hold."""

from __future__ import annotations

Labels = dict[str, tuple[str, str]]

# 资源分类: the class is the first digit of the resource code.
CLASSIFICATIONS: Labels = {
    "base": ("基础信息资源", "Base resources"),
    "topic": ("主题信息资源", "Topic resources"),
    "department": ("部门信息资源", "Department resources"),
}
CLASSIFICATION_DIGIT = {"base": "1", "topic": "2", "department": "3"}

# Themes within a class, numbered so that a theme code alone names it (base 01-05, topic
# 10-); for the department class the theme is the provider itself.
BASE_THEMES: Labels = {
    "01": ("人口", "Population"),
    "02": ("法人单位", "Legal entities"),
    "03": ("自然资源和空间地理", "Natural resources and geospatial"),
    "04": ("社会信用", "Social credit"),
    "05": ("电子证照", "Electronic licences"),
}
TOPIC_THEMES: Labels = {
    "10": ("经济建设", "Economy"),
    "11": ("道路交通", "Transport"),
    "12": ("资源环境", "Environment"),
    "13": ("教育科技", "Education and science"),
    "14": ("医疗卫生", "Health"),
    "15": ("社保就业", "Social security and employment"),
    "16": ("公共安全", "Public safety"),
    "17": ("城建住房", "Urban construction and housing"),
    "18": ("文化休闲", "Culture and leisure"),
    "19": ("社会救助", "Social assistance"),
    "20": ("农业农村", "Agriculture"),
    "21": ("市场监管", "Market regulation"),
    "22": ("财税金融", "Finance and tax"),
    "23": ("信用服务", "Credit"),
    "24": ("气象服务", "Weather"),
    "25": ("机构团体", "Organisations"),
    "26": ("生活服务", "Daily life"),
    "27": ("安全生产", "Work safety"),
}
THEMES: dict[str, Labels] = {"base": BASE_THEMES, "topic": TOPIC_THEMES, "department": {}}

# 资源格式 (the guide's resource format classes).
FORMATS: Labels = {
    "file": ("电子文件", "Electronic document"),
    "spreadsheet": ("电子表格", "Spreadsheet"),
    "database": ("数据库", "Database"),
    "image": ("图形图像", "Image"),
    "stream": ("流媒体", "Streaming media"),
    "self_describing": ("自描述格式", "Self-describing format"),
    "api": ("服务接口", "Service interface"),
}

# 信息项数据类型 (GB/T 21063.3 / the guide).
ITEM_TYPES: Labels = {
    "C": ("字符型", "Character"),
    "N": ("数值型", "Numeric"),
    "Y": ("货币型", "Currency"),
    "D": ("日期型", "Date"),
    "T": ("日期时间型", "Date-time"),
    "L": ("逻辑型", "Logical"),
    "M": ("备注型", "Memo"),
    "G": ("通用型", "General"),
    "B": ("双精度型", "Double"),
    "I": ("整型", "Integer"),
    "F": ("浮点型", "Float"),
}

# 共享类型 / 开放类型: glossary codes.
SHARING_TYPES: Labels = {
    "unconditional": ("无条件共享", "Shared unconditionally"),
    "conditional": ("有条件共享", "Shared under conditions"),
    "none": ("不予共享", "Not shared"),
}
OPENING_TYPES: Labels = {
    "unconditional": ("无条件开放", "Open"),
    "conditional": ("有条件开放", "Open under conditions"),
    "none": ("不予开放", "Not open"),
}

# 共享方式
SHARING_METHODS: Labels = {
    "table": ("库表", "Database table"),
    "api": ("接口", "Service interface"),
    "file": ("文件", "File"),
}

# 更新周期, with the ISO 8601 / EU frequency each maps to in DCAT-AP.
UPDATE_CYCLES: Labels = {
    "realtime": ("实时", "Real time"),
    "daily": ("每日", "Daily"),
    "weekly": ("每周", "Weekly"),
    "monthly": ("每月", "Monthly"),
    "quarterly": ("每季度", "Quarterly"),
    "semiannual": ("每半年", "Every six months"),
    "annual": ("每年", "Annual"),
    "irregular": ("不定期", "Irregular"),
}
EU_FREQUENCY = {
    "realtime": "UPDATE_CONT",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "semiannual": "ANNUAL_2",
    "annual": "ANNUAL",
    "irregular": "IRREG",
}

DISTRIBUTION_KINDS: Labels = {
    "file": ("文件", "File"),
    "api": ("接口", "API"),
    "link": ("链接", "Link"),
}

# Licences offered for open resources (CKAN license_list shape).
LICENSES: dict[str, dict[str, str]] = {
    "hz-open-data": {
        "title": "杭州市公共数据开放协议",
        "title_en": "Hangzhou Public Data Open Licence",
        "url": "https://data.hangzhou.gov.cn/license",
    },
    "cc-by-4.0": {
        "title": "知识共享 署名 4.0 (CC BY 4.0)",
        "title_en": "Creative Commons Attribution 4.0",
        "url": "https://creativecommons.org/licenses/by/4.0/",
    },
    "cc0-1.0": {
        "title": "知识共享 CC0 1.0 公有领域贡献",
        "title_en": "Creative Commons CC0 1.0",
        "url": "https://creativecommons.org/publicdomain/zero/1.0/",
    },
    "odbl-1.0": {
        "title": "开放数据库许可 (ODbL 1.0)",
        "title_en": "Open Data Commons Open Database License 1.0",
        "url": "https://opendatacommons.org/licenses/odbl/1-0/",
    },
}


def label(labels: Labels, code: str | None, lang: str = "zh") -> str:
    if not code or code not in labels:
        return code or ""
    zh, en = labels[code]
    return en if lang == "en" else zh


def theme_labels(classification: str) -> Labels:
    return THEMES.get(classification, {})
