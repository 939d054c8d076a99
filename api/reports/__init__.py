"""Board outputs of a run: report.xlsx (workbook), report.pdf (board pack) and report.csv."""
