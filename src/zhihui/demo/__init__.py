"""The demo city (issue 2): a deterministic, seeded, Hangzhou-like city loaded through the
services: 杭州市人民政府, its 13 districts and counties and about twenty departments, with USCCs
that pass the GB 32100 check; a user for every role sharing one documented password; over 300
catalogue resources over every sharing and opening type, classification, format and update
cycle; and showcases built on the open ones (Art. 46, 48). ``zhihui demo`` calls
``load_demo``; ``--if-empty`` asks ``demo_is_loaded`` first."""

from zhihui.demo.city import DEMO_PASSWORD
from zhihui.demo.loader import DemoPlan, DemoSummary, build_plan, demo_is_loaded, load_demo

__all__ = ["DEMO_PASSWORD", "DemoPlan", "DemoSummary", "build_plan", "demo_is_loaded",
           "load_demo"]
