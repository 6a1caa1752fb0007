"""Text addressed to a language model rather than to readers (prompt injection).

Two signals, both on a normalised copy of the sentence (NFKC, zero-width characters removed,
look-alike letters of other scripts mapped to Latin), never on the text that is indexed:
- looks_like_instruction: the sentence talks to a machine reader (instructions to ignore,
  "the correct reply is", "Dear AI model", chat-template tokens). Such sentences are left out
  of the content: no answer quotes them and no LLM is shown them.
- addressed_to_reader: softer, structural: the sentence speaks to "you" outside any quotation.
  News reports rarely do, so such a sentence is ranked below reported facts (rag.answer.evidence).
The patterns are generic English (plus the same few in Arabic, French, Spanish, German); no
topic words. Measured on SQuAD 2.0 dev (every sentence): see tests/test_injection.py.
"""

import re
import unicodedata

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\u2061\u2062\u2063\ufeff"))
# Cyrillic and Greek letters drawn like Latin ones (a subset of Unicode's confusables).
_LOOKALIKE = str.maketrans(
    "аеорсухіјѕԁһкмтвпАЕОРСУХІЈЅВНКМТαεορτυνικχΑΕΟΡΤΥΝΙΚΧ",
    "aeopcyxijsdhkmtbnAEOPCYXIJSBHKMTaeoptunikxAEOPTYNIKX",
)

_MACHINE = (
    r"(?:ai|a\.i\.|llms?|chatbots?|bots?|assistants?|language\s+models?|models?|gpts?|"
    r"ai\s+(?:models?|assistants?|systems?)|machines?|systems?\s+reading\s+this)"
)
_ANSWER_VERB = r"(?:report|say|answer|reply|respond|state|claim|tell|write|output|mention|cite)"
_PATTERNS = [
    # ignore / disregard / forget ... instructions (or the earlier passages)
    r"\b(?:ignore|disregard|forget)\s+(?:\w+\s+){0,4}?"
    r"(?:instructions?|prompts?|rules?|guidelines|directions)\b",
    r"\b(?:ignore|disregard|forget)\s+(?:\w+\s+){0,3}?(?:previous|prior|above|earlier|preceding)"
    r"\s+(?:\w+\s+){0,2}?(?:passages|sources|context|messages|documents|articles)\b",
    r"\b(?:pay\s+no\s+attention|do\s+not\s+follow|don't\s+follow|stop\s+following|set\s+aside)"
    r"\s+(?:\w+\s+){0,4}?(?:instructions?|rules?|prompts?|guidelines|directions)\b",
    # role labels and chat-template tokens
    r"^\W*(?:system|assistant|developer)\s*(?:prompt|message)?\s*:",
    r"<\|[a-z_]{2,20}\|>|<</?sys>>|\[/?(?:system|inst|sys)\]",
    r"^\s*#{1,6}\s*(?:system|instructions?|response|assistant)\b",
    # speaking to the machine: "Dear AI model", "Attention assistant", "New rule for the model"
    rf"\b(?:dear|attention|hey|hello|hi|note\s+to|message\s+to|reminder\s+to|memo\s+to)\s+"
    rf"(?:the\s+|any\s+|all\s+|every\s+)?{_MACHINE}\b",
    rf"\b(?:note|message|instructions?|reminder|rules?|directive|order)\s+(?:to|for)\s+"
    rf"(?:the\s+|any\s+|all\s+|every\s+)?{_MACHINE}\b",
    r"\b(?:you\s+are|as)\s+an?\s+(?:ai|llm|chatbot|language\s+model|assistant)\b",
    rf"\b{_MACHINE}\s+(?:\w+\s+){{0,5}}?(?:should|must|shall|are\s+to|need\s+to|have\s+to|"
    rf"will|is\s+to|ought\s+to)\s+(?:always\s+|now\s+|only\s+)?(?:\w+\s+)?{_ANSWER_VERB}\b",
    rf"\b{_MACHINE}\s+(?:reading|processing|summari[sz]ing|answering)\s+(?:this|these|the)\b",
    # prescribing the answer
    r"\b(?:the\s+)?(?:correct|right|true|proper|only\s+valid|official)\s+(?:reply|answer|response)"
    r"\s+(?:is|would\s+be|should\s+be|must\s+be)\b",
    r"\bwhen\s+(?:you\s+are\s+|you're\s+)?asked\b[^.!?]{0,120},\s*(?:always\s+)?"
    r"(?:answer|reply|respond|say)\b",
    r"\b(?:cite|answer|respond|reply)\b[^.!?]{0,60}\b(?:in|to|for)\s+(?:every|each|all|any)\s+"
    r"(?:answers?|responses?|replies|questions?)\b",
    r"\[[^\[\]\n]{1,200}:L\d+\]",  # this tool's own citation marker, forged
    # the same in Arabic, French, Spanish, German
    r"(?:تجاهل|انس)\S*\s+(?:\S+\s+){0,3}?(?:التعليمات|الأوامر|التوجيهات)",
    r"(?:أيها|عزيزي|انتباه)\s+(?:\S+\s+){0,2}?(?:المساعد|النموذج|الذكاء\s+الاصطناعي|روبوت)",
    r"(?:الرد|الإجابة|الجواب)\s+(?:الصحيح|الصحيحة)\s+(?:هو|هي)",
    r"\b(?:ignorez|oubliez)\s+(?:\w+\s+){0,3}?(?:instructions|consignes)\b",
    r"\b(?:la\s+)?(?:bonne|vraie)\s+(?:réponse)\s+est\b",
    r"\b(?:ignora|olvida)\s+(?:\w+\s+){0,3}?(?:instrucciones|reglas)\b",
    r"\b(?:la\s+)?respuesta\s+correcta\s+es\b",
    r"\b(?:ignoriere|vergiss)\s+(?:\w+\s+){0,3}?(?:anweisungen|regeln)\b",
    r"\b(?:die\s+)?richtige\s+antwort\s+(?:ist|lautet)\b",
]
_INSTRUCTION = re.compile("|".join(_PATTERNS), re.IGNORECASE | re.MULTILINE)
_QUOTED = re.compile(r"[\"“”«»„][^\"“”«»„]*[\"“”«»„]|‘[^‘’]*’")
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|yourselves)\b", re.IGNORECASE)


def normalise(text: str) -> str:
    """The text as a detector should read it: NFKC, no zero-width characters, Latin look-alikes
    mapped to Latin (so "іgnore" with a Cyrillic і reads "ignore")."""
    return unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).translate(_LOOKALIKE)


def looks_like_instruction(sentence: str) -> bool:
    """Is this sentence addressed to a language model (prompt injection) rather than readers?"""
    return bool(_INSTRUCTION.search(normalise(sentence)))


def addressed_to_reader(sentence: str) -> bool:
    """Does the sentence speak to "you" outside quotation marks (a reader, or a model)?"""
    return bool(_SECOND_PERSON.search(_QUOTED.sub(" ", normalise(sentence))))
