"""Personal information in government data: find it, classify columns, before anything is shared.

Art. 48 of the Regulations opens government data except state secrets, trade secrets and
personal privacy; Art. 50 forbids leaking what was collected. `detect` validates values
(check digits, region codes, dates, not just shapes) and scans free text; `classify` grades
columns as personal or sensitive personal information in the sense of PIPL Art. 28.
"""
