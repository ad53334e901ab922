"""Reading run dirs for people: the HTML report and the doctor's diagnosis."""

from honed.report.checks.base import Finding
from honed.report.doctor import Diagnosis, diagnose, format_diagnosis
from honed.report.evidence import Evidence, load_evidence
from honed.report.html import write_report

__all__ = ["Finding", "Diagnosis", "diagnose", "format_diagnosis", "Evidence", "load_evidence",
           "write_report"]
