"""zhihui: the government big-data platform required by the Hangzhou Smart Economy
Promotion Regulations (杭州市智慧经济促进条例): catalogue, exchange, open data, privacy and
audit (Art. 46-50)."""

__version__ = "0.1.0"
