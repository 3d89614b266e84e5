#pragma once

// Every window command, once: its RPC name, its field name in
// SessionCommand/SessionResult, and its request and response messages.
// The unary RPCs, the Session stream's dispatch and the command specs are
// all generated from this list, so a command exists everywhere or nowhere.
// X(Name, field, Request, Response)
#define FOXPOOL_COMMANDS(X)                                                                  \
  X(Navigate, navigate, NavigateRequest, NavigateResponse)                                   \
  X(GetTitle, get_title, GetTitleRequest, GetTitleResponse)                                  \
  X(GetUrl, get_url, GetUrlRequest, GetUrlResponse)                                          \
  X(GetContent, get_content, GetContentRequest, GetContentResponse)                          \
  X(Evaluate, evaluate, EvaluateRequest, EvaluateResponse)                                   \
  X(Screenshot, screenshot, ScreenshotRequest, ScreenshotResponse)                           \
  X(Reload, reload, ReloadRequest, NavigateResponse)                                         \
  X(GoBack, go_back, HistoryRequest, NavigateResponse)                                       \
  X(GoForward, go_forward, HistoryRequest, NavigateResponse)                                 \
  X(GetText, get_text, GetTextRequest, GetTextResponse)                                      \
  X(OpenTab, open_tab, OpenTabRequest, OpenTabResponse)                                      \
  X(ListTabs, list_tabs, ListTabsRequest, ListTabsResponse)                                  \
  X(SwitchTab, switch_tab, SwitchTabRequest, SwitchTabResponse)                              \
  X(CloseTab, close_tab, CloseTabRequest, CloseTabResponse)                                  \
  X(ListFrames, list_frames, ListFramesRequest, ListFramesResponse)                          \
  X(FindElement, find_element, FindElementRequest, FindElementResponse)                      \
  X(FindElements, find_elements, FindElementsRequest, FindElementsResponse)                  \
  X(WaitForElement, wait_for_element, WaitForElementRequest, WaitForElementResponse)         \
  X(GetElement, get_element, GetElementRequest, GetElementResponse)                          \
  X(Click, click, ClickRequest, ElementActionResponse)                                       \
  X(TypeText, type_text, TypeTextRequest, ElementActionResponse)                             \
  X(PressKey, press_key, PressKeyRequest, ElementActionResponse)                             \
  X(Focus, focus, ElementRequest, ElementActionResponse)                                     \
  X(Hover, hover, ElementRequest, ElementActionResponse)                                     \
  X(ScrollIntoView, scroll_into_view, ElementRequest, ElementActionResponse)                 \
  X(SelectOption, select_option, SelectOptionRequest, SelectOptionResponse)                  \
  X(SetChecked, set_checked, SetCheckedRequest, ElementActionResponse)                       \
  X(UploadFile, upload_file, UploadFileRequest, ElementActionResponse)                       \
  X(AddPreloadScript, add_preload_script, AddPreloadScriptRequest, AddPreloadScriptResponse) \
  X(RemovePreloadScript, remove_preload_script, RemovePreloadScriptRequest,                  \
    RemovePreloadScriptResponse)                                                             \
  X(GetCookies, get_cookies, GetCookiesRequest, GetCookiesResponse)                          \
  X(SetCookie, set_cookie, SetCookieRequest, SetCookieResponse)                              \
  X(DeleteCookies, delete_cookies, DeleteCookiesRequest, DeleteCookiesResponse)              \
  X(GetStorage, get_storage, GetStorageRequest, GetStorageResponse)                          \
  X(SetStorage, set_storage, SetStorageRequest, SetStorageResponse)                          \
  X(ClearStorage, clear_storage, ClearStorageRequest, ClearStorageResponse)                  \
  X(SetBlockRules, set_block_rules, SetBlockRulesRequest, SetBlockRulesResponse)             \
  X(SetExtraHeaders, set_extra_headers, SetExtraHeadersRequest, SetExtraHeadersResponse)     \
  X(SetUserAgent, set_user_agent, SetUserAgentRequest, SetUserAgentResponse)                 \
  X(SetProxy, set_proxy, SetProxyRequest, SetProxyResponse)                                  \
  X(WaitForNetworkIdle, wait_for_network_idle, WaitForNetworkIdleRequest,                    \
    WaitForNetworkIdleResponse)                                                              \
  X(SetViewport, set_viewport, SetViewportRequest, SetViewportResponse)                      \
  X(SetDialogPolicy, set_dialog_policy, SetDialogPolicyRequest, SetDialogPolicyResponse)     \
  X(PrintToPdf, print_to_pdf, PrintToPdfRequest, PrintToPdfResponse)
