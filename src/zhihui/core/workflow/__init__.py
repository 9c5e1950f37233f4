"""core/workflow: the approval engine every module shares (states, role-bound transitions,
deadlines in working days with the Chinese holiday calendar, escalation, comments, evidence),
so that Art. 46 sharing applications and Art. 50 requests to correct or delete are answered
the same way, on time, and every step is in the audit log."""
