INSERT INTO field_report_photo (report_id, n, path, content_type, bytes, sha256, width, height,
                                filename)
VALUES (%(report_id)s, %(n)s, %(path)s, %(content_type)s, %(bytes)s, %(sha256)s, %(width)s,
        %(height)s, %(filename)s);
