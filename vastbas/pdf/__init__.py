"""PDF documents of a case, built with fpdf2 from the plain data of vastbas.queries.documents."""
