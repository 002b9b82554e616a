/* Reason phrases for status codes: one switch, which the compiler turns into
 * a jump table, so the status line costs no search. */
#include "nethttp/status.h"

const char *nh_status_text(int code) {
  switch (code) {
  case NH_STATUS_CONTINUE: return "Continue";
  case NH_STATUS_SWITCHING_PROTOCOLS: return "Switching Protocols";
  case NH_STATUS_PROCESSING: return "Processing";
  case NH_STATUS_EARLY_HINTS: return "Early Hints";

  case NH_STATUS_OK: return "OK";
  case NH_STATUS_CREATED: return "Created";
  case NH_STATUS_ACCEPTED: return "Accepted";
  case NH_STATUS_NON_AUTHORITATIVE_INFO: return "Non-Authoritative Information";
  case NH_STATUS_NO_CONTENT: return "No Content";
  case NH_STATUS_RESET_CONTENT: return "Reset Content";
  case NH_STATUS_PARTIAL_CONTENT: return "Partial Content";
  case NH_STATUS_MULTI_STATUS: return "Multi-Status";
  case NH_STATUS_ALREADY_REPORTED: return "Already Reported";
  case NH_STATUS_IM_USED: return "IM Used";

  case NH_STATUS_MULTIPLE_CHOICES: return "Multiple Choices";
  case NH_STATUS_MOVED_PERMANENTLY: return "Moved Permanently";
  case NH_STATUS_FOUND: return "Found";
  case NH_STATUS_SEE_OTHER: return "See Other";
  case NH_STATUS_NOT_MODIFIED: return "Not Modified";
  case NH_STATUS_USE_PROXY: return "Use Proxy";
  case NH_STATUS_TEMPORARY_REDIRECT: return "Temporary Redirect";
  case NH_STATUS_PERMANENT_REDIRECT: return "Permanent Redirect";

  case NH_STATUS_BAD_REQUEST: return "Bad Request";
  case NH_STATUS_UNAUTHORIZED: return "Unauthorized";
  case NH_STATUS_PAYMENT_REQUIRED: return "Payment Required";
  case NH_STATUS_FORBIDDEN: return "Forbidden";
  case NH_STATUS_NOT_FOUND: return "Not Found";
  case NH_STATUS_METHOD_NOT_ALLOWED: return "Method Not Allowed";
  case NH_STATUS_NOT_ACCEPTABLE: return "Not Acceptable";
  case NH_STATUS_PROXY_AUTH_REQUIRED: return "Proxy Authentication Required";
  case NH_STATUS_REQUEST_TIMEOUT: return "Request Timeout";
  case NH_STATUS_CONFLICT: return "Conflict";
  case NH_STATUS_GONE: return "Gone";
  case NH_STATUS_LENGTH_REQUIRED: return "Length Required";
  case NH_STATUS_PRECONDITION_FAILED: return "Precondition Failed";
  case NH_STATUS_REQUEST_ENTITY_TOO_LARGE: return "Request Entity Too Large";
  case NH_STATUS_REQUEST_URI_TOO_LONG: return "Request URI Too Long";
  case NH_STATUS_UNSUPPORTED_MEDIA_TYPE: return "Unsupported Media Type";
  case NH_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE: return "Requested Range Not Satisfiable";
  case NH_STATUS_EXPECTATION_FAILED: return "Expectation Failed";
  case NH_STATUS_TEAPOT: return "I'm a teapot";
  case NH_STATUS_MISDIRECTED_REQUEST: return "Misdirected Request";
  case NH_STATUS_UNPROCESSABLE_ENTITY: return "Unprocessable Entity";
  case NH_STATUS_LOCKED: return "Locked";
  case NH_STATUS_FAILED_DEPENDENCY: return "Failed Dependency";
  case NH_STATUS_TOO_EARLY: return "Too Early";
  case NH_STATUS_UPGRADE_REQUIRED: return "Upgrade Required";
  case NH_STATUS_PRECONDITION_REQUIRED: return "Precondition Required";
  case NH_STATUS_TOO_MANY_REQUESTS: return "Too Many Requests";
  case NH_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE: return "Request Header Fields Too Large";
  case NH_STATUS_UNAVAILABLE_FOR_LEGAL_REASONS: return "Unavailable For Legal Reasons";

  case NH_STATUS_INTERNAL_SERVER_ERROR: return "Internal Server Error";
  case NH_STATUS_NOT_IMPLEMENTED: return "Not Implemented";
  case NH_STATUS_BAD_GATEWAY: return "Bad Gateway";
  case NH_STATUS_SERVICE_UNAVAILABLE: return "Service Unavailable";
  case NH_STATUS_GATEWAY_TIMEOUT: return "Gateway Timeout";
  case NH_STATUS_HTTP_VERSION_NOT_SUPPORTED: return "HTTP Version Not Supported";
  case NH_STATUS_VARIANT_ALSO_NEGOTIATES: return "Variant Also Negotiates";
  case NH_STATUS_INSUFFICIENT_STORAGE: return "Insufficient Storage";
  case NH_STATUS_LOOP_DETECTED: return "Loop Detected";
  case NH_STATUS_NOT_EXTENDED: return "Not Extended";
  case NH_STATUS_NETWORK_AUTHENTICATION_REQUIRED: return "Network Authentication Required";
  default: return "";
  }
}
