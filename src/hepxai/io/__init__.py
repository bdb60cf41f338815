"""Reading and writing files safely: atomic writes, output locks and validated loads of torch files."""
