SELECT path, content_type, bytes, sha256 FROM field_report_photo
WHERE report_id = %(id)s AND n = %(n)s;
