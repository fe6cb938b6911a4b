"""Telling English from Spanish in short, misspelled chat messages, offline.

A general detector ships large models and guesses poorly on two-word inputs. With only two
languages, counting the words that belong to one language and not the other (function words
plus the FAQ's own vocabulary) is small, fast, and good on exactly the inputs we get.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bot.faq.knowledge import Language


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


ENGLISH_STOPWORDS = _word_set(
    """
    a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing dont down during each few for from
    further had has have having he her here hers him his how i if im in into is isnt it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their them then there these they
    this those through to too under until up very was we were what whats which while will
    with would you your yours yourself ive youre theyre thats theres u ur r pls plz please
    hi hello hey thanks thank ok okay yes yeah yo dear sir madam tell know want wanna gonna
    get got go going say says said there anyone anybody someone something anything really
    still just like also even much many every thing things question questions anyway
    considered consider actually already exactly kind type whole guys saw seen heard hear
    true anymore longer came come ago years one ones explain simple simply words word find
    out scared afraid worried worry nervous
    understand moving move live living lives stay staying right left sure maybe probably
    okay hello bye goodbye cool understand somebody everybody
    lot lots bit little big again ever never always often sometimes today tomorrow yesterday
    new general good morning afternoon evening make made makes making done give gives gave
    given giving tell told telling use used uses using need needs needed
    talk talking talked say saying keep kept back end ended connect connected relate
    related provide provided come comes coming see sees seen go goes went gone gets getting
    put take takes taking took happen happens happened happening might may must let lets
    allow allows allowed permit permitted stuff way going gonna wanna want wants wanted
    think thinks thought hearing keep keeps able exactly basically anything everything
    election elections real since terms
    confirm confirming rumor rumors rumour rumours supposedly apparently false claim claims
    claimed swears swear honestly lol asking asks asked situation holder holders else
    officially read local along extra
    main biggest print printing bulletin newsletter cite called
    english mention mentions mentioned describe describes line
    """
)

SPANISH_STOPWORDS = _word_set(
    """
    a al algo algun alguna algunas alguno algunos ante antes aqui asi aun aunque cada como
    con contra cual cuales de del desde donde dos el ella ellas ellos en entre era eran es esa
    esas ese eso esos esta estaba estamos estan estar este esto estos estoy fue fueron ha han
    hasta hay la las le les lo los mas me mi mis mucho muy nada ni no nos nosotros o otra otro
    para pero poco por que se sea ser si sin sobre son su sus tambien tan tanto te tengo tiene
    tienen todo todos tu tus un una uno unos usted ustedes va vamos van y ya yo hola buenas
    buenos dias tardes noches gracias favor porfa porfavor oiga disculpe senor senora pues
    bueno oye quiero queria saber pregunta preguntas decir dice dicen puedo puede pueden
    alguien cosa cosas mucha muchas verdad entonces ahi aca todavia aun tipo ustedes
    exactamente realmente vi escuche oi ahorita explicar explique expliqueme explicame
    palabras palabra sencillas sencillo simple encontrar miedo preocupado preocupada
    nervioso entender entiendo mudar mudo mudarme vivo vive viven vivir quedar seguro claro
    quizas tal vez adios chao bien mal mejor peor poquito mucho siempre nunca hoy manana ayer
    algun enterar entere voy vas ir cierto anos hace llegue vine
    nueva nuevo nuevas nuevos general buen hacer hace hacen hizo hicieron hecho haciendo haga
    hagan da dan dio dieron dar decir dice dicen dijo dijeron diga digame dime usar usa usan
    uso pedir pido pide piden pedi necesita necesitan necesitaba necesitamos llegar llega
    llegan llego sacar saca saco sacaron ver ve ven visto hablar habla hablan hable pasar
    pasa pasan paso pasaron poner pone venir viene vienen vino tratar trata trato mantener
    mantiene quedar queda empezar empieza seguir sigue siguen ahora permite permiten
    permitido dejan deja dejar cosa tal eleccion elecciones
    vos sabes sabe sabia sabias podes podrias podria queres tenes decime contame fijate
    fijese mira mire deci conta falso verdadero rumor rumores chisme chismes cuento andan
    anda diciendo platica neta solo oficialmente tiempo local extra digo leer lee leen leyendo
    confirmar confirmarme confirme confirmen explicarle expliquenlo explicarselo
    correcto correcta incorrecto distrito principal principales citar boletin establece
    facilito clarito
    establecen ingles menciona mencionan mencionaron signo interrogacion coma
    llevo lleva llevamos llevan corto resumen breve pregunto preguntan preguntaron
    preguntando calle calles sige sigen fin cuentas misma mismo despues
    """
)

STOPWORDS = ENGLISH_STOPWORDS | SPANISH_STOPWORDS

_SPANISH_MARKS = re.compile(r"[¿¡ñÑáéíóúÁÉÍÓÚ]")
# A hint (the user's setting or Telegram's language_code) only breaks ties: a message that
# reads as Spanish gets Spanish even when the hint says English.
_HINT_WEIGHT = 0.5
# Function words tell the language of a sentence better than nouns, which Spanish speakers
# often borrow from English ("¿LA es sanctuary city?").
_VOCABULARY_WEIGHT = 0.5


class LanguageDetector:
    """Chooses English or Spanish for a message from its words and an optional hint."""

    def __init__(self, english_words: Iterable[str], spanish_words: Iterable[str]) -> None:
        english_stopwords = ENGLISH_STOPWORDS - SPANISH_STOPWORDS
        spanish_stopwords = SPANISH_STOPWORDS - ENGLISH_STOPWORDS
        self._weights: dict[str, tuple[float, float]] = {}
        for word in set(english_words) - set(spanish_words) - SPANISH_STOPWORDS:
            self._weights[word] = (_VOCABULARY_WEIGHT, 0.0)
        for word in set(spanish_words) - set(english_words) - ENGLISH_STOPWORDS:
            self._weights[word] = (0.0, _VOCABULARY_WEIGHT)
        for word in english_stopwords:
            self._weights[word] = (1.0, 0.0)
        for word in spanish_stopwords:
            self._weights[word] = (0.0, 1.0)

    def detect(
        self, raw_text: str, tokens: Sequence[str], hint: Language | None = None
    ) -> Language:
        """Return the language of a message, given its raw text and its folded words."""
        english = spanish = 0.0
        for token in tokens:
            english_weight, spanish_weight = self._weights.get(token, (0.0, 0.0))
            english += english_weight
            spanish += spanish_weight
        if _SPANISH_MARKS.search(raw_text):
            spanish += 1.0
        if hint == "en":
            english += _HINT_WEIGHT
        elif hint == "es":
            spanish += _HINT_WEIGHT
        return "es" if spanish > english else "en"


def parse_language(code: str | None) -> Language | None:
    """Map a language code such as Telegram's "es-MX" to a supported language, if any."""
    if not code:
        return None
    primary = code.strip().lower().replace("_", "-").split("-")[0]
    if primary == "en":
        return "en"
    if primary == "es":
        return "es"
    return None


# Letters of scripts other than the Latin one (Hangul, Chinese, Cyrillic, Armenian, Arabic and
# Persian, ...): ASCII and Latin-1 to Latin Extended-B, and Latin Extended Additional (used by
# Vietnamese), are Latin.
_LATIN_RANGES = ((0, 0x024F), (0x1E00, 0x1EFF))
# Letters only Vietnamese writes (with a horn, a breve, a bar, or a tone mark under a vowel).
_VIETNAMESE = re.compile("[ăơưđ\u1ea0-\u1ef9]", re.IGNORECASE)
_PORTUGUESE = re.compile("[ãõç]|\\b(voc[eê]s?|ol[aá]|n[aã]o|portugu[eê]s|obrigad[oa])\\b", re.I)
# Tagalog's function words: three of them in a message, and more of them than English words
# (function words, and the FAQ's words counted twice), is Tagalog. Taglish ("can i book po a
# consult this sunday? sunday lang kasi day off ko") is read as the English it mostly is.
_TAGALOG = frozenset(
    [
        "ang",
        "ng",
        "mga",
        "po",
        "pong",
        "ba",
        "ko",
        "ako",
        "lang",
        "kung",
        "sa",
        "dito",
        "namin",
        "natin",
        "walang",
        "paano",
        "bakit",
        "ano",
        "gusto",
        "siya",
        "hindi",
        "opo",
        "salamat",
        "magandang",
        "malaman",
        "ninyo",
        "kayo",
    ]
)
_TAGALOG_WORDS = 3
_CONTENT_WEIGHT = 2
_OTHER_SCRIPT_SHARE = 0.5


def is_other_language(text: str, known: frozenset[str] = frozenset()) -> bool:
    """Whether `text` is written in a language other than English or Spanish.

    `known` holds English words the FAQ asks with ("city", "deportation"): in Taglish they
    carry what is asked ("pag nag mass deportation si Trump, hindi tutulong ang LA?"), and
    each weighs as two function words.
    """
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return False
    other = sum(
        1 for char in letters if not any(low <= ord(char) <= high for low, high in _LATIN_RANGES)
    )
    if other / len(letters) >= _OTHER_SCRIPT_SHARE:
        return True
    if len(_VIETNAMESE.findall(text)) >= 2 or len(_PORTUGUESE.findall(text)) >= 2:
        return True
    words = re.findall(r"[a-z]+", text.lower())
    tagalog = sum(1 for word in words if word in _TAGALOG)
    english = sum(1 for word in words if word in ENGLISH_STOPWORDS)
    english += _CONTENT_WEIGHT * sum(
        1 for word in words if word in known and word not in ENGLISH_STOPWORDS
    )
    return tagalog >= _TAGALOG_WORDS and tagalog > english
