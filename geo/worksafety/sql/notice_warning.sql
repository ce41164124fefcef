UPDATE ws_notice SET warning_id = %(warning_id)s WHERE id = %(notice_id)s;
