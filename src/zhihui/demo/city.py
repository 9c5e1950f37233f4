"""The demo city's organisations and accounts: 杭州市人民政府, its 13 districts and counties,
about twenty city departments and a few district departments, and a user for every role.

Everything here is data plus pure functions (no database); ``loader.py`` writes it through the
account services."""

from __future__ import annotations

import random
from dataclasses import dataclass

# One password for every demo account, documented in docs/demo.md and the README.
DEMO_PASSWORD = "zhihui-demo-2015"

# GB 32100-2015 统一社会信用代码: 31 characters (no I, O, Z, S, V) and the weights of
# positions 1-17 (3**(i) mod 31).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714-1997 organisation code (positions 9-17 of a USCC): weights of its 8 body characters.
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code (GB 32100-2015, 5.2)."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_is_valid(code: str) -> bool:
    return (
        len(code) == 18
        and all(c in USCC_ALPHABET for c in code)
        and uscc_check_char(code[:17]) == code[17]
    )


def org_code_check_char(body8: str) -> str:
    """The 9th character of an organisation code (GB 11714-1997): 0-9 or X."""
    total = sum(int(c, 36) * w for c, w in zip(body8, ORG_CODE_WEIGHTS, strict=True))
    value = (11 - total % 11) % 11
    return "X" if value == 10 else str(value)


def government_uscc(division: str, rng: random.Random) -> str:
    """A code of a government organ: registration authority 1 (机构编制), category 1 (机关),
    the administrative division, an organisation code starting 00, the check character."""
    body = "00" + "".join(rng.choice("0123456789") for _ in range(6))
    first17 = "11" + division + body + org_code_check_char(body)
    return first17 + uscc_check_char(first17)


@dataclass(frozen=True)
class OrgSpec:
    name: str  # ASCII slug: URLs, user names, file names
    title: str
    title_en: str
    kind: str  # city / district / department
    catalog_code: str
    division: str  # administrative division code (GB/T 2260) for the USCC
    parent: str | None = None
    short: str = ""  # how titles and tags name it (西湖区, 交通)
    description: str = ""
    uscc: str = ""


CITY = ("hangzhou", "杭州市人民政府", "Hangzhou Municipal People's Government", "330100")

# (slug, 中文名, English, GB/T 2260 code): the 2021 division of Hangzhou.
DISTRICTS: tuple[tuple[str, str, str, str], ...] = (
    ("shangcheng", "上城区", "Shangcheng District", "330102"),
    ("gongshu", "拱墅区", "Gongshu District", "330105"),
    ("xihu", "西湖区", "Xihu District", "330106"),
    ("binjiang", "滨江区", "Binjiang District", "330108"),
    ("xiaoshan", "萧山区", "Xiaoshan District", "330109"),
    ("yuhang", "余杭区", "Yuhang District", "330110"),
    ("fuyang", "富阳区", "Fuyang District", "330111"),
    ("linan", "临安区", "Lin'an District", "330112"),
    ("linping", "临平区", "Linping District", "330113"),
    ("qiantang", "钱塘区", "Qiantang District", "330114"),
    ("tonglu", "桐庐县", "Tonglu County", "330122"),
    ("chunan", "淳安县", "Chun'an County", "330127"),
    ("jiande", "建德市", "Jiande City", "330182"),
)

# (slug, full title, English, short name used in contacts): the city's departments.
DEPARTMENTS: tuple[tuple[str, str, str, str], ...] = (
    ("jxj", "杭州市经济和信息化局", "Hangzhou Bureau of Economy and Information Technology",
     "经信"),
    ("sjj", "杭州市数据资源管理局", "Hangzhou Data Resources Administration", "数据资源"),
    ("jtj", "杭州市交通运输局", "Hangzhou Transport Bureau", "交通运输"),
    ("hbj", "杭州市生态环境局", "Hangzhou Ecology and Environment Bureau", "生态环境"),
    ("scjgj", "杭州市市场监督管理局", "Hangzhou Administration for Market Regulation", "市场监管"),
    ("wjw", "杭州市卫生健康委员会", "Hangzhou Health Commission", "卫生健康"),
    ("jyj", "杭州市教育局", "Hangzhou Education Bureau", "教育"),
    ("gaj", "杭州市公安局", "Hangzhou Public Security Bureau", "公安"),
    ("mzj", "杭州市民政局", "Hangzhou Civil Affairs Bureau", "民政"),
    ("rsj", "杭州市人力资源和社会保障局", "Hangzhou Human Resources and Social Security Bureau",
     "人力社保"),
    ("jsj", "杭州市住房和城乡建设局", "Hangzhou Housing and Urban-Rural Development Bureau",
     "住建"),
    ("ghzyj", "杭州市规划和自然资源局", "Hangzhou Planning and Natural Resources Bureau",
     "规划和自然资源"),
    ("wglyj", "杭州市文化广电旅游局", "Hangzhou Culture, Radio, TV and Tourism Bureau",
     "文广旅游"),
    ("nyncj", "杭州市农业农村局", "Hangzhou Agriculture and Rural Affairs Bureau", "农业农村"),
    ("tjj", "杭州市统计局", "Hangzhou Statistics Bureau", "统计"),
    ("swj", "国家税务总局杭州市税务局", "Hangzhou Municipal Tax Service, STA", "税务"),
    ("cgj", "杭州市城市管理局", "Hangzhou Urban Management Bureau", "城管"),
    ("slj", "杭州市林业水利局", "Hangzhou Forestry and Water Resources Bureau", "林业水利"),
    ("qxj", "杭州市气象局", "Hangzhou Meteorological Bureau", "气象"),
    ("ybj", "杭州市医疗保障局", "Hangzhou Healthcare Security Administration", "医保"),
    ("swuj", "杭州市商务局", "Hangzhou Commerce Bureau", "商务"),
    ("yjglj", "杭州市应急管理局", "Hangzhou Emergency Management Bureau", "应急管理"),
)

# Departments of some districts: (district slug, area, 中文名, English). The area names the
# city department whose district counterpart this is; district resources of that area go to it.
DISTRICT_DEPARTMENTS: tuple[tuple[str, str, str, str], ...] = (
    ("xihu", "jyj", "西湖区教育局", "Xihu District Education Bureau"),
    ("xihu", "wjw", "西湖区卫生健康局", "Xihu District Health Bureau"),
    ("yuhang", "scjgj", "余杭区市场监督管理局",
     "Yuhang District Administration for Market Regulation"),
    ("binjiang", "sjj", "滨江区数据资源管理局", "Binjiang District Data Resources Administration"),
    ("xiaoshan", "mzj", "萧山区民政局", "Xiaoshan District Civil Affairs Bureau"),
    ("shangcheng", "cgj", "上城区城市管理局", "Shangcheng District Urban Management Bureau"),
)


def build_orgs(seed: int) -> list[OrgSpec]:
    """Every organisation in creation order (parents first), with its USCC."""
    rng = random.Random(f"zhihui-demo-orgs-{seed}")
    slug, title, title_en, division = CITY
    orgs = [OrgSpec(slug, title, title_en, "city", division, division, None, "杭州市",
                    "杭州市人民政府，全市政务数据资源的统筹主体。")]
    for i, (slug, title, title_en, _short) in enumerate(DEPARTMENTS, start=1):
        orgs.append(OrgSpec(slug, title, title_en, "department", f"{i:03d}", division,
                            "hangzhou", title.removeprefix("杭州市"),
                            f"{title}，杭州市人民政府工作部门。"))
    for slug, short, title_en, code in DISTRICTS:
        orgs.append(OrgSpec(slug, f"{short}人民政府", f"{title_en} People's Government",
                            "district", code, code, "hangzhou", short,
                            f"杭州市{short}人民政府，负责本行政区域的公共数据编目和开放。"))
    by_district = {d[0]: d for d in DISTRICTS}
    counters: dict[str, int] = {}
    for district, area, title, title_en in DISTRICT_DEPARTMENTS:
        code = by_district[district][3]
        counters[district] = counters.get(district, 0) + 1
        orgs.append(OrgSpec(f"{district}_{area}", title, title_en, "department",
                            f"{code}{counters[district]:03d}", code, district, title,
                            f"{title}，{by_district[district][1]}人民政府工作部门。"))
    out = []
    seen: set[str] = set()
    for org in orgs:
        uscc = government_uscc(org.division, rng)
        while uscc in seen:  # vanishingly rare, but codes are unique
            uscc = government_uscc(org.division, rng)
        seen.add(uscc)
        out.append(OrgSpec(**{**org.__dict__, "uscc": uscc}))
    return out


def district_department(district: str, area: str) -> str | None:
    """The slug of a district's department for ``area``, if the demo has one."""
    for d, a, _t, _e in DISTRICT_DEPARTMENTS:
        if d == district and a == area:
            return f"{d}_{a}"
    return None


@dataclass(frozen=True)
class UserSpec:
    name: str
    fullname: str
    org: str | None = None
    capacity: str | None = None
    sysadmin: bool = False
    auditor: bool = False
    note: str = ""  # who this is, for docs/demo.md

    @property
    def email(self) -> str:
        return f"{self.name.replace('_', '.')}@demo.zhihui.example.com"


# Organisations that get an admin, an editor and a member each.
STAFFED_ORGS: tuple[tuple[str, str], ...] = (
    ("sjj", "数据资源管理局"),
    ("jxj", "经信局"),
    ("jtj", "交通运输局"),
    ("hbj", "生态环境局"),
    ("scjgj", "市场监管局"),
    ("wjw", "卫生健康委"),
    ("jyj", "教育局"),
    ("mzj", "民政局"),
    ("xihu", "西湖区政府"),
    ("binjiang", "滨江区政府"),
)
CAPACITY_LABELS = {"admin": "管理员", "editor": "编辑", "member": "成员"}


def build_users() -> list[UserSpec]:
    users = [
        UserSpec("admin", "平台管理员（市数据资源管理局）", sysadmin=True,
                 note="platform operator (sysadmin, Art. 7)"),
        UserSpec("auditor", "审计员", auditor=True,
                 note="reads the whole audit log, changes nothing (Art. 50)"),
    ]
    for org, label in STAFFED_ORGS:
        for capacity, cap_label in CAPACITY_LABELS.items():
            users.append(UserSpec(f"{org}_{capacity}", f"{label}{cap_label}", org, capacity,
                                  note=f"{capacity} of {org}"))
    users += [
        UserSpec("dev_zhang", "张伟（杭州云行科技有限公司）",
                 note="enterprise developer: open data, API, showcases"),
        UserSpec("citizen_li", "李娜", note="citizen: browses the open catalogue"),
    ]
    return users
