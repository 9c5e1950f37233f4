"""Requests to correct or delete (更正、删除请求), Art. 50: anyone may ask the department that
holds inaccurate information about them to correct or delete it. A request names the records
(a locator over the data), what is wrong and what it should say; while open the records carry
a disputed mark (异议标注); the owning organisation answers within a deadline in working days
on core/workflow; an accepted request becomes a new version of the data (datastore/revise.py)."""
